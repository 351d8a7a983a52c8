// Proxy memory against the size of its configuration: one sidecar of the real control plane in a
// mesh of N Services (one ready Pod each), measured idle once its first full config is applied,
// next to an idle sidecar in a mesh of one Service (the baseline) started in the same run.
import { readFileSync } from "node:fs";
import {
  INJECTED_NAMESPACE_YAML,
  podYaml,
  serviceYaml,
  startMesh,
} from "../test/scenarios/support/mesh.ts";

const SUBNET = 42;

export interface ProxyMemoryRow {
  services: number;
  rssMb: number;
  heapUsedMb: number;
}

function meshYaml(services: number): string {
  const docs = [INJECTED_NAMESPACE_YAML];
  for (let i = 0; i < services; i++) {
    // Pods at 127.42.<1 + i / 250>.<1 + i % 250>; the sidecar sits in 127.42.200.x.
    const ip = `127.${SUBNET}.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
    docs.push(serviceYaml(`svc-${i}`));
    docs.push(podYaml({ name: `svc-${i}-pod`, ip, labels: { app: `svc-${i}` }, ports: [8080] }));
  }
  docs.push(podYaml({ name: "client", ip: `127.${SUBNET}.200.1`, labels: { app: "client" } }));
  return docs.join("---\n");
}

function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return kb ? Number(kb[1]) / 1024 : Number.NaN;
}

async function measure(services: number): Promise<ProxyMemoryRow> {
  const mesh = await startMesh(SUBNET, meshYaml(services));
  try {
    const proxy = await mesh.startProxy({
      pod: "client",
      ip: `127.${SUBNET}.200.1`,
      labels: { app: "client" },
    });
    const memory = (await (await fetch(`${proxy.adminUrl}/memory`)).json()) as {
      v8: { heap_used: string };
    };
    return {
      services,
      rssMb: rssMb(proxy.pid),
      heapUsedMb: Number(memory.v8.heap_used) / 1024 / 1024,
    };
  } finally {
    await mesh.stop();
  }
}

/** Idle sidecar memory with one Service (baseline) and with `services` Services configured. */
export async function benchProxyMemory(services: number): Promise<ProxyMemoryRow[]> {
  return [await measure(1), await measure(services)];
}
