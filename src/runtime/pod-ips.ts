// Pod addresses of the local runtime (DESIGN §3): every pod gets its own loopback address in
// the mesh's /16 of 127.0.0.0/8, and an injected pod a second one where its app listens (the
// sidecar holds the pod IP). Pod k uses 127.B.<1 + k / 63>.<4·(k mod 63) + 1>, its app the next.
import { CremaError } from "../base/errors.ts";

export const DEFAULT_POD_CIDR = "127.10.0.0/16";
const PODS_PER_BLOCK = 63;
const BLOCKS = 254;

export interface PodAddresses {
  podIP: string;
  appIP: string;
}

export interface PodIpAllocator {
  allocate(): PodAddresses;
  release(podIP: string): void;
}

/** The second octet of a `127.B.0.0/16` CIDR; throws CREMA_RUNTIME_UNSUPPORTED_MANIFEST otherwise. */
export function parsePodCidr(cidr: string): number {
  const match = /^127\.(\d{1,3})\.0\.0\/16$/.exec(cidr.trim());
  const octet = Number(match?.[1]);
  if (!match || octet < 1 || octet > 254) {
    throw new CremaError(
      "CREMA_RUNTIME_UNSUPPORTED_MANIFEST",
      `--pod-cidr must be a /16 inside 127.0.0.0/8 other than 127.0.0.0/16, such as ${DEFAULT_POD_CIDR}; got '${cidr}'`,
    );
  }
  return octet;
}

export function createPodIpAllocator(cidr: string = DEFAULT_POD_CIDR): PodIpAllocator {
  const octet = parsePodCidr(cidr);
  const used = new Set<number>();
  const addressOf = (k: number, offset: number) =>
    `127.${octet}.${1 + Math.floor(k / PODS_PER_BLOCK)}.${4 * (k % PODS_PER_BLOCK) + 1 + offset}`;
  return {
    allocate() {
      for (let k = 0; k < PODS_PER_BLOCK * BLOCKS; k++) {
        if (used.has(k)) continue;
        used.add(k);
        return { podIP: addressOf(k, 0), appIP: addressOf(k, 1) };
      }
      throw new CremaError(
        "CREMA_RUNTIME_UNSUPPORTED_MANIFEST",
        `the pod network ${cidr} is full (${PODS_PER_BLOCK * BLOCKS} pods)`,
      );
    },
    release(podIP) {
      const [, , third, fourth] = podIP.split(".").map(Number);
      used.delete((third! - 1) * PODS_PER_BLOCK + (fourth! - 1) / 4);
    },
  };
}
