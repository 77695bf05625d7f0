//! A real nginx (Debian's package; `.ci/run` installs it) using `auth_request` to
//! `jwtshield serve`, in front of a small upstream on loopback.

use crate::gateway::{Stack, wait_for};
use crate::support::free_port;

#[test]
fn nginx_auth_request_in_front_of_an_upstream() {
    let mut stack = Stack::start();
    let dir = tempfile::tempdir().unwrap();
    let np = free_port();
    let (jp, upstream) = (stack.jp, stack.upstream);
    let http_body = format!(
        r#"  upstream jwtshield {{ server 127.0.0.1:{jp}; keepalive 8; }}
  upstream app {{ server {upstream}; keepalive 8; }}
  server {{
    listen 127.0.0.1:{np};
    location = /_auth {{
      internal;
      proxy_pass http://jwtshield/v1/authz?profile=api;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-Method $request_method;
      proxy_set_header X-Forwarded-Uri $request_uri;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
    }}
    location = /_auth_admin {{
      internal;
      proxy_pass http://jwtshield/v1/authz?profile=api&scope=admin:read;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-Method $request_method;
      proxy_set_header X-Forwarded-Uri $request_uri;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
    }}
    location /api/ {{
      auth_request /_auth;
      auth_request_set $auth_subject $upstream_http_x_auth_subject;
      auth_request_set $auth_scopes $upstream_http_x_auth_scopes;
      auth_request_set $auth_tenant $upstream_http_x_tenant_id;
      proxy_set_header X-Auth-Subject $auth_subject;
      proxy_set_header X-Auth-Scopes $auth_scopes;
      proxy_set_header X-Tenant-Id $auth_tenant;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://app;
    }}
    location /api/admin {{
      auth_request /_auth_admin;
      auth_request_set $auth_subject $upstream_http_x_auth_subject;
      auth_request_set $auth_challenge $upstream_http_www_authenticate;
      error_page 403 = @forbidden;
      proxy_set_header X-Auth-Subject $auth_subject;
      proxy_pass http://app;
    }}
    location @forbidden {{
      add_header WWW-Authenticate $auth_challenge always;
      return 403;
    }}
  }}"#
    );
    stack
        .procs
        .0
        .push(crate::support::nginx(dir.path(), &http_body));
    wait_for(np, "/");
    stack.cases(np, "nginx", 500);
}
