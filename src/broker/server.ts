/**
 * The broker: a small HTTP server for kernels on this machine. It listens on a Unix socket (0600
 * in a 0700 directory) where the OS has them, else on 127.0.0.1:0. Each request carries a
 * per-kernel bearer token; requests with an Origin header (browsers) or a foreign Host (DNS
 * rebinding) are refused; POST only; rate-limited; it never logs values.
 *
 * Kernels that cannot speak HTTP over a Unix socket (R: base R has TCP sockets only) get a second
 * listener on 127.0.0.1, started when the first such kernel asks ({@link BrokerServer.tcpEndpoint}),
 * with the same tokens and checks.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BROKER_CLAIM_PATH,
  BROKER_ENVIRONMENT_PATH,
  BROKER_HTTP_STATUS,
  BROKER_PATH,
  BROKER_SETUP_PATH,
  brokerError,
  ClaimRequest,
  isBrokerError,
  type BrokerErrorBody,
  type BrokerErrorCode,
  type BrokerOutcome,
  type ClaimResult,
  type EnvironmentResult,
  type SetupResult,
} from '../core/brokerProtocol';
import type { KernelSetupHandler } from './kernelSetup';
import type { KernelSessions } from './kernelSessions';
import { RateLimiter, type RateLimit } from './rateLimiter';
import type { SecretRequestHandler } from './requestHandler';
import type { BrokerLog } from './secretSource';

export type ListenMode = 'auto' | 'unix' | 'tcp';

/**
 * Claims (`POST /v1/claim`): kernels that found the broker in their environment ask for a token of
 * their own. The gate checks the claim token and decides.
 */
export interface ClaimGate {
  /** Whether `token` is the claim token (a constant-time compare). */
  accepts(token: string): boolean;
  claim(request: ClaimRequest): Promise<ClaimResult | BrokerErrorBody>;
  /** `POST /v1/setup` with the claim token and a `notebook`: its choices, no token issued. */
  setup?(body: unknown): Promise<SetupResult | BrokerErrorBody>;
}

export interface BrokerServerOptions {
  sessions: KernelSessions;
  handler: SecretRequestHandler;
  log: BrokerLog;
  listen?: ListenMode;
  /** Per kernel session. Default: 5,000/s sustained, bursts of 5,000. */
  rateLimit?: RateLimit;
  /** Failed authentications, all clients together. Default: 20/s, bursts of 50. */
  authFailureLimit?: RateLimit;
  /** Parent directory of the socket's private directory (default: the OS temp directory). */
  socketParent?: string;
  /** Answers `POST /v1/claim`; without it, that path is unknown. */
  claims?: ClaimGate;
  /** Answers `POST /v1/setup` and `POST /v1/environment`; without it, those paths are unknown. */
  setup?: KernelSetupHandler;
}

const MAX_BODY = 4096;

export class BrokerServer {
  private server: http.Server | undefined;
  private tcpServer: http.Server | undefined;
  private tcpStarting: Promise<string> | undefined;
  private socketDir: string | undefined;
  private readonly limiter: RateLimiter;
  private readonly authLimiter: RateLimiter;
  /** `unix:/path/broker.sock` or `http://127.0.0.1:PORT`, once started. */
  endpoint = '';
  /** `http://127.0.0.1:PORT` once a TCP listener runs (the main one, or the one for R kernels). */
  tcp = '';

  constructor(private readonly options: BrokerServerOptions) {
    this.limiter = new RateLimiter(options.rateLimit ?? { perSecond: 5000, burst: 5000 });
    this.authLimiter = new RateLimiter(options.authFailureLimit ?? { perSecond: 20, burst: 50 });
  }

  async start(): Promise<string> {
    if (this.server) return this.endpoint;
    const mode = this.options.listen ?? 'auto';
    const unix = mode === 'unix' || (mode === 'auto' && process.platform !== 'win32');
    if (unix) {
      const dir = await mkdtemp(join(this.options.socketParent ?? tmpdir(), 'nbsec-'));
      await chmod(dir, 0o700);
      const path = join(dir, 'broker.sock');
      const server = this.createServer(new Set(['localhost']));
      await listen(server, path);
      await chmod(path, 0o600);
      this.socketDir = dir;
      this.server = server;
      this.endpoint = `unix:${path}`;
    } else {
      const { server, endpoint } = await this.listenTcp();
      this.server = server;
      this.endpoint = endpoint;
      this.tcp = endpoint;
      this.tcpServer = server;
    }
    this.options.log.info(`Broker listening on ${this.endpoint}`);
    return this.endpoint;
  }

  /**
   * `http://127.0.0.1:PORT`: the main endpoint when it is TCP, else a second listener on the
   * loopback interface, started on the first call (for kernels without Unix sockets, like R's).
   */
  async tcpEndpoint(): Promise<string> {
    if (!this.server) await this.start();
    if (this.tcp) return this.tcp;
    this.tcpStarting ??= (async () => {
      try {
        const { server, endpoint } = await this.listenTcp();
        if (!this.server) {
          server.close();
          throw new Error('The broker was stopped.');
        }
        this.tcpServer = server;
        this.tcp = endpoint;
        this.options.log.info(`Broker also listening on ${endpoint} (for R kernels)`);
        return endpoint;
      } finally {
        this.tcpStarting = undefined;
      }
    })();
    return this.tcpStarting;
  }

  private async listenTcp(): Promise<{ server: http.Server; endpoint: string }> {
    const hosts = new Set<string>();
    const server = this.createServer(hosts);
    await listen(server, 0, '127.0.0.1');
    const port = (server.address() as AddressInfo).port;
    hosts.add(`127.0.0.1:${port}`);
    hosts.add(`localhost:${port}`);
    return { server, endpoint: `http://127.0.0.1:${port}` };
  }

  /** A listener that accepts only the Host headers in `allowedHosts` (filled once it listens). */
  private createServer(allowedHosts: ReadonlySet<string>): http.Server {
    const server = http.createServer(
      { keepAliveTimeout: 120_000, headersTimeout: 10_000, requestTimeout: 600_000 },
      (req, res) => void this.onRequest(req, res, allowedHosts),
    );
    server.keepAliveTimeout = 120_000;
    return server;
  }

  async stop(): Promise<void> {
    const servers = [...new Set([this.server, this.tcpServer])];
    this.server = undefined;
    this.tcpServer = undefined;
    this.tcp = '';
    for (const server of servers) {
      if (!server) continue;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    if (this.socketDir) {
      await rm(this.socketDir, { recursive: true, force: true });
      this.socketDir = undefined;
    }
  }

  private async onRequest(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    allowedHosts: ReadonlySet<string>,
  ): Promise<void> {
    try {
      const refusal = this.refuse(req, allowedHosts);
      if (refusal) {
        req.resume();
        this.send(res, brokerError(refusal.code, refusal.message), refusal.headers);
        return;
      }
      const token = bearer(req.headers.authorization);
      const claims = this.options.claims;
      if (req.url === BROKER_CLAIM_PATH && claims) {
        await this.onClaim(req, res, token, claims);
        return;
      }
      if (req.url === BROKER_SETUP_PATH && claims?.setup && token && claims.accepts(token)) {
        const json = await readJson(req);
        this.send(res, 'error' in json ? json : await claims.setup(json.body));
        return;
      }
      const session = token ? this.options.sessions.lookup(token) : undefined;
      if (!session) {
        req.resume();
        const wait = this.authLimiter.take('auth-failures');
        if (wait > 0) {
          this.send(res, brokerError('rate_limited', 'Too many failed attempts; slow down.'), {
            'Retry-After': String(Math.ceil(wait)),
          });
          return;
        }
        this.options.log.warn('Broker refused a request with a missing or unknown token.');
        this.send(
          res,
          brokerError(
            'unauthorized',
            "This kernel's Notebook Secrets token is not recognized (VS Code restarted, or access for this kernel ended).",
          ),
        );
        return;
      }
      const wait = this.limiter.take(session.id);
      if (wait > 0) {
        req.resume();
        this.send(res, brokerError('rate_limited', 'Too many get_secret calls; slow down.'), {
          'Retry-After': wait.toFixed(3),
        });
        return;
      }
      const json = await readJson(req);
      if ('error' in json) {
        this.send(res, json);
        return;
      }
      const setup = this.options.setup;
      const outcome =
        req.url === BROKER_SETUP_PATH && setup
          ? await setup.setup(session, json.body)
          : req.url === BROKER_ENVIRONMENT_PATH && setup
            ? await setup.environment(session, json.body)
            : await this.options.handler.handle(session, json.body);
      this.send(res, outcome);
    } catch (err) {
      this.options.log.error(`Broker error: ${err instanceof Error ? err.name : 'unknown'}`);
      if (!res.headersSent)
        this.send(res, brokerError('internal', 'The broker failed; see its log.'));
    }
  }

  private async onClaim(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    token: string | undefined,
    claims: ClaimGate,
  ): Promise<void> {
    if (!token || !claims.accepts(token)) {
      req.resume();
      const wait = this.authLimiter.take('auth-failures');
      this.options.log.warn('Broker refused a claim with a missing or unknown token.');
      this.send(
        res,
        wait > 0
          ? brokerError('rate_limited', 'Too many failed attempts; slow down.')
          : brokerError(
              'unauthorized',
              'This kernel was started before VS Code set up get_secret, or by another VS Code window.',
            ),
        wait > 0 ? { 'Retry-After': String(Math.ceil(wait)) } : {},
      );
      return;
    }
    const json = await readJson(req);
    if ('error' in json) {
      this.send(res, json);
      return;
    }
    const parsed = ClaimRequest.safeParse(json.body);
    if (!parsed.success) {
      this.send(res, brokerError('invalid_input', 'A claim names the notebook, and nothing else.'));
      return;
    }
    this.send(res, await claims.claim(parsed.data));
  }

  private refuse(
    req: http.IncomingMessage,
    allowedHosts: ReadonlySet<string>,
  ): { code: BrokerErrorCode; message: string; headers?: Record<string, string> } | undefined {
    if (req.headers.origin !== undefined || req.headers['sec-fetch-site'] !== undefined) {
      return { code: 'forbidden', message: 'Requests from web pages are refused.' };
    }
    if (!allowedHosts.has(req.headers.host ?? '')) {
      return { code: 'forbidden', message: 'Unexpected Host header.' };
    }
    if (req.method !== 'POST') {
      return {
        code: 'method_not_allowed',
        message: 'Only POST is accepted.',
        headers: { Allow: 'POST' },
      };
    }
    const url = req.url ?? '';
    const known =
      url === BROKER_PATH ||
      (url === BROKER_CLAIM_PATH && this.options.claims) ||
      ((url === BROKER_SETUP_PATH || url === BROKER_ENVIRONMENT_PATH) && this.options.setup);
    if (!known) {
      return { code: 'invalid_input', message: `Unknown path; use POST ${BROKER_PATH}.` };
    }
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(type)) {
      return { code: 'invalid_input', message: 'Send the request as application/json.' };
    }
    return undefined;
  }

  private send(
    res: http.ServerResponse,
    outcome: BrokerOutcome | ClaimResult | SetupResult | EnvironmentResult,
    headers: Record<string, string> = {},
  ): void {
    const status = isBrokerError(outcome) ? BROKER_HTTP_STATUS[outcome.error.code] : 200;
    const body = JSON.stringify(outcome);
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
      ...headers,
    });
    res.end(body);
  }
}

function bearer(header: string | undefined): string | undefined {
  const match = /^Bearer ([A-Za-z0-9_-]{1,256})$/.exec(header ?? '');
  return match?.[1];
}

/** The request's JSON body, or the error to answer with. */
async function readJson(req: http.IncomingMessage): Promise<{ body: unknown } | BrokerErrorBody> {
  const body = await readBody(req);
  if (body === undefined) return brokerError('invalid_input', 'The request body is too large.');
  try {
    return { body: JSON.parse(body) as unknown };
  } catch {
    return brokerError('invalid_input', 'The request body is not JSON.');
  }
}

function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function listen(server: http.Server, ...args: [string] | [number, string]): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = (): void => {
      server.off('error', reject);
      resolve();
    };
    if (args.length === 1) server.listen(args[0], done);
    else server.listen(args[0], args[1], done);
  });
}
