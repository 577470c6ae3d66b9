/**
 * The server's conformance suite, run unchanged against PGlite and PostgreSQL (../conformance.int.test.ts):
 * Connections: refusing early, oversize bodies, restarts and stopping.
 */
import { connect } from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { client, expectOk, startTestServer, unique } from '../harness';
import { type Conformance } from './fixture';

/** Whether `text` holds a whole HTTP response: its head and as many body bytes as it declares. */
function responseComplete(text: string): boolean {
  const end = text.indexOf('\r\n\r\n');
  const length = /\r\ncontent-length: (\d+)/i.exec(text.slice(0, end));
  return end >= 0 && !!length && Buffer.byteLength(text) >= end + 4 + Number(length[1]);
}

export function connectionsTests(ctx: Conformance): void {
  describe('connections', () => {
    it('refuses a request without a valid token before reading its body', async () => {
      const reply = await rawExchange(
        ctx.t.url,
        'POST /v1/secrets HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n' +
          'Content-Length: 400000\r\n\r\n',
      );
      expect(reply).toMatch(/^HTTP\/1\.1 401 /);
      const notAdmin = await rawExchange(
        ctx.t.url,
        `POST /v1/users HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer ${ctx.w.tokens.eve}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 400000\r\n\r\n',
      );
      expect(notAdmin).toMatch(/^HTTP\/1\.1 403 /);
    });

    it('refuses a write with a token revoked since its last use before reading its body', async () => {
      const admin = client(ctx.t.url, ctx.t.adminToken);
      const minted = (
        await expectOk(
          admin('POST', '/v1/tokens', { body: { user: ctx.w.ids.alice, name: unique('w') } }),
        )
      ).body as { id: string; token: string };
      const name = unique('BEFORE_REVOKE_');
      await expectOk(
        client(ctx.t.url, minted.token)('POST', '/v1/secrets', { body: { name, value: 'v' } }),
      );
      await expectOk(admin('DELETE', `/v1/tokens/${minted.id}`));
      for (const head of [
        'POST /v1/secrets HTTP/1.1',
        `PATCH /v1/secrets/00000000-0000-4000-8000-000000000000 HTTP/1.1\r\nIf-Match: "1"`,
      ]) {
        const reply = await rawExchange(
          ctx.t.url,
          `${head}\r\nHost: test\r\nAuthorization: Bearer ${minted.token}\r\n` +
            'Content-Type: application/json\r\nContent-Length: 400000\r\n\r\n',
        );
        expect(reply).toMatch(/^HTTP\/1\.1 401 /);
      }
    });

    it('lets a client still sending an oversize body read the 413', async () => {
      for (const chunked of [false, true]) {
        const reply = await postLarge(ctx.t.url, ctx.w.tokens.alice, 8 * 1024 * 1024, chunked);
        expect(reply).toMatch(/^HTTP\/1\.1 413 /);
        expect(reply).toContain('"code":"body_too_large"');
      }
    });

    it('stops accepting an old admin token after a restart with a new one', async () => {
      const first = await startTestServer(ctx.backend);
      const { dataDir, databaseUrl } = first.config;
      await first.server.close();
      const second = await startTestServer(ctx.backend, {
        dataDir,
        ...(databaseUrl ? { databaseUrl } : {}),
        key: first.key,
      });
      try {
        expect((await client(second.url, first.adminToken)('GET', '/v1/me')).status).toBe(401);
        expect((await client(second.url, second.adminToken)('GET', '/v1/users')).status).toBe(200);
      } finally {
        await second.server.close();
      }
    });

    it('on stopping, ends a keep-alive connection after the request it was serving', async () => {
      const s = await startTestServer(ctx.backend);
      const { hostname, port } = new URL(s.url);
      const socket = connect(Number(port), hostname);
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      const ended = once(socket, 'close');
      const body = JSON.stringify({ name: unique('LAST_'), value: 'x' });
      const seen = once(s.server.app.server, 'request');
      socket.write(
        `POST /v1/secrets HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer ${s.adminToken}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      await seen;
      const closed = s.server.close();
      socket.write(body);
      await ended;
      await closed;
      expect(text).toMatch(/^HTTP\/1\.1 201 /);
      expect(text).toMatch(/\r\nconnection: close\r\n/i);
    });
  });
}

/**
 * Sends `head` (request line and headers, no body) on a new connection; resolves with the first
 * response, read until its Content-Length, or whatever came before the server closed.
 */
function rawExchange(url: string, head: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(head));
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (responseComplete(text)) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

/**
 * POSTs a body of `size` bytes as a client that reads the answer only once it has sent the whole
 * request (as many do); resolves with whatever response it then can read.
 */
function postLarge(url: string, token: string, size: number, chunked: boolean): Promise<string> {
  const { hostname, port } = new URL(url);
  const head =
    `POST /v1/secrets HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer ${token}\r\n` +
    'Content-Type: application/json\r\n' +
    (chunked ? 'Transfer-Encoding: chunked\r\n\r\n' : `Content-Length: ${size}\r\n\r\n`);
  const data = Buffer.alloc(size, 'x');
  const body = chunked
    ? Buffer.concat([Buffer.from(`${size.toString(16)}\r\n`), data, Buffer.from('\r\n0\r\n\r\n')])
    : data;
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.pause();
    let text = '';
    const read = () => {
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        if (responseComplete(text)) {
          socket.destroy();
        }
      });
      socket.resume();
    };
    socket.on('error', () => socket.destroy());
    socket.on('close', () => resolve(text));
    socket.write(head);
    socket.write(body, (error) => {
      if (!error) read();
    });
  });
}
