import http from 'node:http';
import net from 'node:net';

/** A port that was free a moment ago: connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface RawServer {
  readonly url: string;
  readonly port: number;
  /** Requests whose bytes reached the server. */
  readonly received: number;
  close(): Promise<void>;
}

/**
 * A TCP server whose every connection is handed to `onSocket`, for faults an
 * HTTP server cannot produce: reset before reading, reset after reading,
 * silence.
 */
export async function rawServer(
  onSocket: (socket: net.Socket, server: { received: number }) => void,
): Promise<RawServer> {
  const state = { received: 0 };
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onSocket(s, state);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    get received() {
      return state.received;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}

export interface HttpServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function httpServer(handler: http.RequestListener): Promise<HttpServer> {
  const srv = http.createServer(handler);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}
