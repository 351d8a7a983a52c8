// Run inside a pod with `crema exec POD -- node test/scenarios/support/requests.ts SPEC`: sends
// the requests SPEC (JSON) lists with Node's own fetch, which the pod's HTTP_PROXY sends through
// its sidecar, and prints one JSON line per answer: status, headers, body (parsed when JSON),
// and how long it took. Requests run `concurrency` at a time; `repeat` repeats the list.
interface RequestSpec {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

interface Spec {
  requests: RequestSpec[];
  repeat?: number;
  concurrency?: number;
}

const spec = JSON.parse(process.argv[2] ?? "{}") as Spec;
const queue: RequestSpec[] = [];
for (let i = 0; i < (spec.repeat ?? 1); i++) queue.push(...spec.requests);

async function send(request: RequestSpec): Promise<string> {
  const started = performance.now();
  try {
    const response = await fetch(request.url, {
      method: request.method ?? "GET",
      headers: request.headers ?? {},
      ...(request.body !== undefined ? { body: request.body } : {}),
      redirect: "manual",
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: keep the text.
    }
    return JSON.stringify({
      status: response.status,
      headers: Object.fromEntries(response.headers),
      body,
      ms: performance.now() - started,
    });
  } catch (error) {
    return JSON.stringify({ status: 0, error: String(error), ms: performance.now() - started });
  }
}

const lines: string[] = new Array(queue.length);
let next = 0;
async function worker(): Promise<void> {
  while (next < queue.length) {
    const index = next++;
    lines[index] = await send(queue[index]!);
  }
}
await Promise.all(Array.from({ length: spec.concurrency ?? 8 }, worker));
process.stdout.write(`${lines.join("\n")}\n`);
