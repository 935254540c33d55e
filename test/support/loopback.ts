/** Small loopback helpers shared by the resilience tests (127.0.0.1 only). */
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits (bounded) until `condition` holds; throws naming `what` otherwise. Only a guard against hanging, never a timing assertion. */
export async function until(condition: () => boolean, what: string, limitMs = 20_000): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > limitMs) throw new Error(`gave up waiting for ${what}`);
    await sleep(5);
  }
}

/** A raw socket answer: writes whatever bytes it likes, may destroy the socket. */
export type RawAnswer = (socket: net.Socket) => void;

/**
 * A TCP server on 127.0.0.1 that answers the n-th HTTP request head with
 * `answers[n]` (the last one for every later request): for responses no
 * HTTP server library would send, such as a body cut off mid-way.
 */
export async function rawHttpServer(answers: RawAnswer[]) {
  let n = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let head = '';
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      head = '';
      answers[Math.min(n++, answers.length - 1)](socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    requests: () => n,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A 200 that promises 500 bytes of JSON, sends a few, and closes the connection. */
export const answerShortBody: RawAnswer = (socket) => {
  socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{"name":"operations/cut"');
  setTimeout(() => socket.destroy(), 5);
};

