// Idle and slow connections time out and connections are capped (issue 12, item 4): the real app
// behind the server main.ts builds (http/server.ts), over real sockets.
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { Socket} from 'node:net';
import { type AddressInfo, connect } from 'node:net';
import { loadConfig } from '../../../src/config/config';
import { createHttpServer, listen } from '../../../src/http/server';
import { type TestApp, testApp } from '../../support/app';

let t: TestApp;
let server: Server;
let port: number;
beforeAll(async () => {
  t = await testApp();
  const { http } = loadConfig({ HTTP_KEEP_ALIVE_TIMEOUT_MS: '300', HTTP_HEADERS_TIMEOUT_MS: '400', HTTP_REQUEST_TIMEOUT_MS: '800', HTTP_MAX_CONNECTIONS: '3' });
  server = await listen(createHttpServer(t.bareApp, http), 0);
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

async function open(): Promise<{ socket: Socket; received: () => string }> {
  const socket = connect(port, '127.0.0.1');
  let data = '';
  socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  return { socket, received: () => data };
}

test('an idle keep-alive connection is closed by the server', async () => {
  const { socket, received } = await open();
  socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
  await once(socket, 'close');
  expect(received()).toMatch(/^HTTP\/1\.1 200/);
});

test('a client that never finishes its headers is answered 408 and cut off', async () => {
  const { socket, received } = await open();
  socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
  await once(socket, 'close');
  expect(received()).toMatch(/^HTTP\/1\.1 408/);
});

test('a client that never finishes its body is answered 408 and cut off', async () => {
  const { socket, received } = await open();
  socket.write('POST /auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ngrant_type=');
  await once(socket, 'close');
  expect(received()).toMatch(/^HTTP\/1\.1 408/);
});

test('connections past the cap are refused at once; the others are served', async () => {
  const held = await Promise.all([open(), open(), open()]);
  const extra = await open();
  await once(extra.socket, 'close');
  expect(extra.received()).toBe('');
  const [first] = held;
  first?.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  await once(first?.socket as Socket, 'close');
  expect(first?.received()).toMatch(/^HTTP\/1\.1 200/);
  held.forEach((h) => h.socket.destroy());
});
