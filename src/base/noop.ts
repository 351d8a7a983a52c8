// The do-nothing callback: a default for optional hooks and a sink for ignored events.

export function noop(): void {}
