// The C peers the proxy is measured against in the same run: nginx (1 worker, upstream keep-alive)
// and HAProxy (1 thread, connection reuse), each a single hop in front of the same backend, started
// from generated configs in a temporary directory on their own loopback addresses.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Peer {
  name: string;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export interface PeerAddresses {
  backend: { host: string; port: number };
  nginx: string;
  haproxy: string;
  port: number;
}

function requireCommand(command: string, versionFlag: string): void {
  if (spawnSync(command, [versionFlag]).error)
    throw new Error(
      `the proxy benchmark needs ${command} on the PATH (Debian: apt-get install ${command})`,
    );
}

function nginxConfig(dir: string, a: PeerAddresses): string {
  return `worker_processes 1;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "nginx-error.log")} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${join(dir, "body")};
  proxy_temp_path ${join(dir, "proxy")};
  fastcgi_temp_path ${join(dir, "fastcgi")};
  uwsgi_temp_path ${join(dir, "uwsgi")};
  scgi_temp_path ${join(dir, "scgi")};
  upstream backend {
    server ${a.backend.host}:${a.backend.port};
    keepalive 64;
  }
  server {
    listen ${a.nginx}:${a.port};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

function haproxyConfig(a: PeerAddresses): string {
  return `global
  nbthread 1
  maxconn 8192
defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend bench
  bind ${a.haproxy}:${a.port}
  default_backend backend
backend backend
  http-reuse always
  server backend ${a.backend.host}:${a.backend.port}
`;
}

function supervise(name: string, url: string, child: ChildProcess, cleanup: () => void): Peer {
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    name,
    url,
    pid: child.pid ?? 0,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
      cleanup();
    },
  };
}

/** Starts nginx and HAProxy in front of `backend`; the caller waits for them to answer. */
export function startPeers(addresses: PeerAddresses): Peer[] {
  requireCommand("nginx", "-v");
  requireCommand("haproxy", "-v");
  const dir = mkdtempSync(join(tmpdir(), "crema-bench-peers-"));
  for (const sub of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(join(dir, sub));
  const nginxConf = join(dir, "nginx.conf");
  const haproxyConf = join(dir, "haproxy.cfg");
  writeFileSync(nginxConf, nginxConfig(dir, addresses));
  writeFileSync(haproxyConf, haproxyConfig(addresses));
  const nginx = spawn("nginx", ["-c", nginxConf, "-p", dir, "-g", "daemon off;"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const haproxy = spawn("haproxy", ["-f", haproxyConf, "-db"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  let stopped = 0;
  const cleanup = () => {
    if (++stopped === 2) rmSync(dir, { recursive: true, force: true });
  };
  return [
    supervise(
      "nginx (1 worker, upstream keep-alive)",
      `http://${addresses.nginx}:${addresses.port}/`,
      nginx,
      cleanup,
    ),
    supervise(
      "HAProxy (1 thread)",
      `http://${addresses.haproxy}:${addresses.port}/`,
      haproxy,
      cleanup,
    ),
  ];
}
