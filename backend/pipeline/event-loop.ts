/** Let other work (/health, other requests) in between faces of a long JavaScript stage. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
