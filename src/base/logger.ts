// Structured logging for every component (pino). Components receive a logger; none creates a
// global one, so tests can capture or silence output per instance.
import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger };

export interface LoggerOptions {
  name: string;
  level?: string;
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? process.env.CREMA_LOG_LEVEL ?? "info";
  return options.destination
    ? pino({ name: options.name, level }, options.destination)
    : pino({ name: options.name, level });
}

export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
