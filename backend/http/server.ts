// HTTP server around the express app with a graceful shutdown: stop
// accepting, let in-flight requests finish (up to a deadline), then close.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';
import type { Logger } from '../logging.js';

export interface RunningServer {
  readonly server: http.Server;
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Stop accepting connections and wait for in-flight requests, at most deadlineMs; then drop the rest. */
  close(deadlineMs?: number): Promise<void>;
}

export interface StartOptions {
  host: string;
  port: number;
  logger?: Logger;
  /** Install SIGTERM/SIGINT handlers that close the server (default true). */
  handleSignals?: boolean;
  /** Deadline for in-flight requests on a signal. Default 110 s (Label Studio's /predict timeout is 100 s). */
  shutdownDeadlineMs?: number;
  /** Called after a signal-triggered close (e.g. engine.close()). */
  onShutdown?: () => Promise<void> | void;
  /**
   * After a signal: exit the process once closed, and exit hard (code 1) when
   * closing has not finished shutdownGraceMs after the in-flight deadline (a
   * native decode or engine call that never returns keeps the event loop alive).
   */
  exitOnShutdown?: boolean;
  /** Default 10 s. */
  shutdownGraceMs?: number;
  /** process.exit (tests). */
  exit?: (code: number) => void;
  /** Deadline for receiving a whole request (headers and body), default 60 s. */
  requestTimeoutMs?: number;
}

export async function startServer(app: RequestListener, options: StartOptions): Promise<RunningServer> {
  const requestTimeout = options.requestTimeoutMs ?? 60_000;
  // receiving the request is bounded (a client that trickles a body holds a socket no longer);
  // the answer is not: requestTimeout does not cover a /predict that runs for 100 s
  const server = http.createServer({ connectionsCheckingInterval: Math.min(30_000, Math.max(50, requestTimeout / 4)) }, app);
  server.requestTimeout = requestTimeout;
  server.headersTimeout = Math.min(60_000, server.requestTimeout);
  server.keepAliveTimeout = 5_000;
  await listen(server, options.port, options.host);
  const port = (server.address() as AddressInfo).port;
  options.logger?.info(`listening on http://${options.host}:${port}`);
  const close = closer(server, options);
  if (options.handleSignals !== false) closeOnSignals(close, options);
  return { server, port, close };
}

/** Rejects with a ListenError (the CLI's "could not start", exit 3) when the port is taken or the host is not ours. */
function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const failed = (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'the port is in use (set PORT to another one)' : err.code === 'EADDRNOTAVAIL' ? 'no such address here (check HOST)' : err.message;
      reject(Object.assign(new Error(`cannot listen on ${host}:${port}: ${why}`, { cause: err }), { name: 'ListenError' }));
    };
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
}

/** close(): once, however often it is called; open connections are dropped at the deadline. */
function closer(server: http.Server, options: StartOptions): RunningServer['close'] {
  let closing: Promise<void> | undefined;
  return (deadlineMs = options.shutdownDeadlineMs ?? 110_000): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        options.logger?.warn(`shutdown deadline of ${deadlineMs} ms reached: dropping open connections`);
        server.closeAllConnections();
      }, deadlineMs);
      timer.unref();
      server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      // idle keep-alive sockets would hold close() open
      server.closeIdleConnections();
    });
    return closing;
  };
}

/** SIGTERM / SIGINT: close, then onShutdown, then (exitOnShutdown) exit, hard if closing hangs. */
function closeOnSignals(close: RunningServer['close'], options: StartOptions): void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const onSignal = (signal: NodeJS.Signals) => {
    options.logger?.info(`${signal}: finishing in-flight requests, then stopping`);
    if (options.exitOnShutdown) {
      const hardMs = (options.shutdownDeadlineMs ?? 110_000) + (options.shutdownGraceMs ?? 10_000);
      setTimeout(() => {
        options.logger?.error(`still running ${hardMs} ms after ${signal} (a stuck native call?): exiting now`);
        exit(1);
      }, hardMs).unref();
    }
    void close()
      .then(async () => {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        await options.onShutdown?.();
      })
      .catch((err: unknown) => options.logger?.error(`shutdown failed: ${(err as Error).message ?? String(err)}`))
      .finally(() => {
        if (options.exitOnShutdown) exit(0);
      });
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}
