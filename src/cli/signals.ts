// Process signals for long-running commands: SIGTERM or SIGINT asks for a graceful stop; a
// second one asks to stop at once.
import type { Logger } from "../base/logger.ts";

/** SIGTERM or SIGINT asks for a drain; a second one asks to cut connections at once. */
export function shutdownSignals(logger: Logger): {
  shutdown: AbortSignal;
  cut: AbortSignal;
  dispose(): void;
} {
  const shutdown = new AbortController();
  const cut = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (shutdown.signal.aborted) {
      logger.warn({ signal }, "second signal: closing connections now");
      cut.abort();
      return;
    }
    logger.info({ signal }, "shutting down");
    shutdown.abort();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  return {
    shutdown: shutdown.signal,
    cut: cut.signal,
    dispose() {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
    },
  };
}
