/**
 * The broker of this window's local kernels, started when the first kernel or command needs it
 * (once; a failed start is tried again next time), with its 127.0.0.1 listener for R kernels
 * started on demand too.
 */
import { BrokerServer, type BrokerServerOptions } from '../../broker/server';
import { UserFacingError } from '../registerCommand';

export class LocalBroker {
  private server: BrokerServer | undefined;
  private starting: Promise<string> | undefined;

  constructor(private readonly options: BrokerServerOptions) {}

  /** The broker's endpoint, starting it if needed. */
  ensure(): Promise<string> {
    if (this.server?.endpoint) return Promise.resolve(this.server.endpoint);
    this.starting ??= this.start();
    return this.starting;
  }

  /** The broker's 127.0.0.1 endpoint, for kernels that cannot reach a Unix socket. */
  async ensureTcp(): Promise<string> {
    await this.ensure();
    try {
      return await this.server!.tcpEndpoint();
    } catch (error) {
      throw new UserFacingError(
        `The Notebook Secrets broker could not listen on 127.0.0.1 for R kernels (${error instanceof Error ? error.message : 'error'}).`,
      );
    }
  }

  stop(): void {
    void this.server?.stop();
  }

  private async start(): Promise<string> {
    const server = new BrokerServer(this.options);
    try {
      await server.start();
    } catch (error) {
      this.starting = undefined;
      throw new UserFacingError(
        `The Notebook Secrets broker could not start (${error instanceof Error ? error.message : 'error'}).`,
      );
    }
    this.server = server;
    return server.endpoint;
  }
}
