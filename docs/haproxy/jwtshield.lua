-- jwtshield.lua: forward-auth for HAProxy 2.6 and later with JWTShield's GET /v1/authz,
-- through HAProxy's own HTTP client (core.httpclient): no other Lua library needed.
--
--   global
--     lua-load /etc/haproxy/jwtshield.lua
--   frontend api
--     http-request lua.jwtshield http://127.0.0.1:8080/v1/authz?profile=api x-tenant-id,x-org-id
--
-- The first argument is the /v1/authz URL (profile and scopes in its query); the second
-- names, comma-separated (or `-` for none), the forward_claims headers to pass on besides X-Auth-Subject, X-Auth-Scopes,
-- X-Auth-Issuer and X-Auth-Claims. The client's own copies of every one of them are
-- removed first, so only JWTShield's reach the backend. The outcome is left in
-- txn.jwtshield_status (the status, 503 when JWTShield could not be asked),
-- txn.jwtshield_challenge (WWW-Authenticate) and txn.jwtshield_retry_after, for
-- `http-request return` rules (docs/gateways.md). The token is never logged.

local identity = { "x-auth-subject", "x-auth-scopes", "x-auth-issuer", "x-auth-claims" }

-- HAProxy's header tables are indexed from 0
local function first(values)
  if values == nil then
    return nil
  end
  return values[0] or values[1]
end

core.register_action("jwtshield", { "http-req" }, function(txn, url, extra)
  local names = {}
  for _, n in ipairs(identity) do
    names[#names + 1] = n
  end
  for n in string.gmatch(extra or "", "[^,%s]+") do
    if n ~= "-" then
      names[#names + 1] = string.lower(n)
    end
  end

  local request = txn.http:req_get_headers()
  -- the client's request, which a DPoP proof names (RFC 9449 htm/htu)
  local tls = txn.f:ssl_fc()
  local headers = {
    ["x-forwarded-method"] = { txn.f:method() },
    ["x-forwarded-uri"] = { txn.f:pathq() },
    ["x-forwarded-proto"] = { (tls == true or tls == 1) and "https" or "http" },
  }
  local host = first(request["host"])
  if host ~= nil then
    headers["x-forwarded-host"] = { host }
  end
  -- every copy of the credentials (several are refused by JWTShield, not merged here)
  for _, name in ipairs({ "authorization", "dpop" }) do
    local values = request[name]
    if values ~= nil then
      local all = {}
      for i = 0, 16 do
        if values[i] ~= nil then
          all[#all + 1] = values[i]
        end
      end
      headers[name] = all
    end
  end
  for _, n in ipairs(names) do
    txn.http:req_del_header(n)
  end

  local client = core.httpclient()
  local ok, res = pcall(client.get, client, { url = url, headers = headers, timeout = 5000 })
  if not ok or res == nil or res.status == nil or res.status == 0 then
    txn:set_var("txn.jwtshield_status", 503)
    txn:set_var("txn.jwtshield_challenge", "")
    txn:set_var("txn.jwtshield_retry_after", "5")
    return
  end
  local got = res.headers or {}
  txn:set_var("txn.jwtshield_status", res.status)
  txn:set_var("txn.jwtshield_challenge", first(got["www-authenticate"]) or "")
  txn:set_var("txn.jwtshield_retry_after", first(got["retry-after"]) or "")
  if res.status == 200 then
    for _, n in ipairs(names) do
      local v = first(got[n])
      if v ~= nil then
        txn.http:req_set_header(n, v)
      end
    end
  end
end, 2)
