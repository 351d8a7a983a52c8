// A Gateway server's TLS credential must exist as a Secret in the namespace of the gateway
// workload (not of the Gateway resource) — IST0101. Checked only where the input holds Secrets
// of that namespace: otherwise the Secrets were simply not part of the input.
import type { FieldPath } from "../diagnostic.ts";
import { isObj, items, objects } from "../validation/rules.ts";
import type { Analyzer } from "./analyzer.ts";
import { gatewaySelection } from "./gateway-selection.ts";

export const gatewaySecrets: Analyzer = {
  name: "gateway.secrets",
  codes: ["IST0101"],
  run(ctx) {
    const secrets = new Map<string, Set<string>>();
    for (const secret of ctx.ofKind("Secret")) {
      const names = secrets.get(secret.namespace) ?? new Set<string>();
      names.add(secret.name);
      secrets.set(secret.namespace, names);
    }
    if (secrets.size === 0) return;
    for (const gateway of ctx.ofKind("Gateway")) {
      const namespaces = [
        ...new Set(gatewaySelection(ctx, gateway).workloads.map((w) => w.namespace)),
      ];
      for (const [server, i] of objects(gateway.spec.servers)) {
        if (!isObj(server.tls)) continue;
        const tlsPath: FieldPath = ["spec", "servers", i, "tls"];
        const refs: Array<[unknown, FieldPath]> = [
          [server.tls.credentialName, [...tlsPath, "credentialName"]],
          ...items(server.tls.credentialNames).map(([name, j]): [unknown, FieldPath] => [
            name,
            [...tlsPath, "credentialNames", j],
          ]),
        ];
        for (const [name, path] of refs) {
          if (typeof name !== "string" || name === "" || name.includes("://")) continue;
          const missingIn = namespaces.find((ns) => secrets.has(ns) && !secrets.get(ns)!.has(name));
          if (missingIn === undefined) continue;
          ctx.report(
            gateway,
            path,
            "IST0101",
            "error",
            `credentialName ${JSON.stringify(name)} not found: the gateway workload runs in namespace ${missingIn}, which has no Secret of that name, so this server cannot serve TLS; create the Secret in ${missingIn} (e.g. kubectl create -n ${missingIn} secret tls ${name} --cert=… --key=…) or fix the name`,
          );
        }
      }
    }
  },
};
