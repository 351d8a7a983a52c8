// A fixed-rate load generator (wrk2's method): requests are scheduled at an exact rate over a
// fixed set of keep-alive connections, and each latency is measured from when the request was
// due, not when it was sent, so a stalled proxy cannot hide its queueing (coordinated omission).
// Runs in its own process: `node paced-client.ts URL HOST RATE CONNECTIONS SECONDS` prints JSON.
import { Agent, request } from "node:http";

const [url = "", host = "", rateText = "1000", connectionsText = "16", secondsText = "5"] =
  process.argv.slice(2);
const rate = Number(rateText);
const connections = Number(connectionsText);
const seconds = Number(secondsText);
const target = new URL(url);
const agent = new Agent({ keepAlive: true, maxSockets: connections });
const latenciesMs: number[] = [];
let errors = 0;
let inFlight = 0;

function send(dueAt: number): void {
  inFlight++;
  const req = request(
    {
      agent,
      host: target.hostname,
      port: target.port,
      path: target.pathname,
      headers: host ? { host } : {},
    },
    (res) => {
      res.resume();
      res.once("end", () => {
        inFlight--;
        if (res.statusCode === 200) latenciesMs.push(performance.now() - dueAt);
        else errors++;
      });
    },
  );
  req.once("error", () => {
    inFlight--;
    errors++;
  });
  req.end();
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const start = performance.now();
const total = Math.round(rate * seconds);
let sent = 0;
// A 1 ms tick sends every request that has fallen due since the last one.
const ticker = setInterval(() => {
  const now = performance.now();
  while (sent < total && start + (sent * 1000) / rate <= now) {
    send(start + (sent * 1000) / rate);
    sent++;
  }
  if (sent >= total) clearInterval(ticker);
}, 1);

// Requests still unanswered 10 s after the last was due count as errors.
const deadline = start + (seconds + 10) * 1000;
const finish = setInterval(() => {
  if ((sent < total || inFlight > 0) && performance.now() < deadline) return;
  clearInterval(finish);
  clearInterval(ticker);
  errors += inFlight;
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  process.stdout.write(
    `${JSON.stringify({
      requests: sorted.length,
      errors,
      p50Ms: percentile(sorted, 50),
      p90Ms: percentile(sorted, 90),
      p99Ms: percentile(sorted, 99),
    })}\n`,
  );
  agent.destroy();
}, 10);
