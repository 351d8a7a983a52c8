// Preloaded (`node --import`) into a process the benchmark starts with an IPC channel: answers
// "memory" with process.memoryUsage(), so the benchmark can read a child's V8 heap, which
// /proc does not show, and ends the process when the benchmark goes away (even killed), so that
// nothing it started outlives it. It must not keep the process alive on its own.
process.on("message", (message: unknown) => {
  if (message === "memory") process.send?.({ memory: process.memoryUsage() });
});
process.on("disconnect", () => process.kill(process.pid, "SIGTERM"));
process.channel?.unref();
