/** uWebSockets.js wiring only: sockets in, ClientConnection out. */
import { randomBytes } from 'node:crypto';
import { errors } from '@media-foundry/shared';
import type { ClientSocket } from './client-socket.js';
import { ClientConnection, type GatewayContext } from './connection.js';
import type { TemplatedApp, Uws, WebSocket, us_listen_socket } from './uws.js';

interface SocketData {
  connection?: ClientConnection;
  socket?: UwsClientSocket;
}

/** Binary frames wait until the send buffer is below this before going out. */
const SEND_HIGH_WATER_BYTES = 1024 * 1024;
/** Per-client send-buffer ceiling (uWS drops messages above it). */
export const MAX_BACKPRESSURE_BYTES = 64 * 1024 * 1024;

/** A uWS.WebSocket behind ClientSocket: corked sends, a closed flag, drain waiting. */
class UwsClientSocket implements ClientSocket {
  closed = false;
  private drainWaiters: (() => void)[] = [];

  constructor(
    readonly id: string,
    private readonly ws: WebSocket<SocketData>,
  ) {}

  sendJson(message: object): void {
    if (this.closed) return;
    const text = JSON.stringify(message);
    this.ws.cork(() => this.ws.send(text, false));
  }

  async sendBinary(frame: Uint8Array): Promise<void> {
    while (!this.closed && this.ws.getBufferedAmount() > SEND_HIGH_WATER_BYTES)
      await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    if (this.closed) throw errors.outputSendFailed('the connection closed');
    let status = 0;
    this.ws.cork(() => (status = this.ws.send(frame, true)));
    if (status === 2) throw errors.outputSendFailed('the client is not reading (send buffer full)');
  }

  onDrain(): void {
    for (const wake of this.drainWaiters.splice(0)) wake();
  }

  onClose(): void {
    this.closed = true;
    this.onDrain();
  }
}

export interface GatewayServer {
  port: number;
  connections(): number;
  /** Stops listening; open sockets stay until closeAll. */
  stopListening(): void;
  closeAll(code: number, reason: string): void;
}

export async function startGatewayServer(uws: Uws, ctx: GatewayContext): Promise<GatewayServer> {
  const { config, logger } = ctx;
  const open = new Set<WebSocket<SocketData>>();
  const app: TemplatedApp = uws.App();

  app.ws<SocketData>('/*', {
    maxPayloadLength: config.WS_MAX_SIZE,
    maxBackpressure: MAX_BACKPRESSURE_BYTES,
    // uWS pings an idle client itself and closes it when this passes silently (granularity ~4 s, minimum 8).
    idleTimeout: config.WS_PING_INTERVAL === 0 ? 0 : Math.max(8, config.WS_PING_INTERVAL + config.WS_PING_TIMEOUT),
    sendPingsAutomatically: config.WS_PING_INTERVAL > 0,
    compression: uws.DISABLED,
    open: (ws) => {
      const socket = new UwsClientSocket(randomBytes(6).toString('hex'), ws);
      const data = ws.getUserData();
      data.socket = socket;
      data.connection = new ClientConnection(socket, ctx);
      open.add(ws);
      logger.debug({ conn_id: socket.id }, 'client connected');
    },
    message: (ws, message, isBinary) => {
      const { connection } = ws.getUserData();
      if (!connection) return;
      try {
        // uWS reuses `message` after this callback returns: decode or copy it now.
        if (isBinary) connection.onBinary(Buffer.copyBytesFrom(new Uint8Array(message)));
        else connection.onText(Buffer.from(message));
      } catch (err) {
        logger.error({ err }, 'unexpected error handling a message');
      }
    },
    drain: (ws) => ws.getUserData().socket?.onDrain(),
    close: (ws, code) => {
      open.delete(ws);
      const { socket, connection } = ws.getUserData();
      socket?.onClose();
      connection?.onClose();
      logger.debug({ conn_id: socket?.id, code }, 'client disconnected');
    },
  });

  const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
    app.listen(config.WS_HOST, config.WS_PORT, (token) =>
      token ? resolve(token) : reject(new Error(`cannot listen on ${config.WS_HOST}:${config.WS_PORT}`)),
    );
  });
  let listening: us_listen_socket | null = listenSocket;
  return {
    port: uws.us_socket_local_port(listenSocket),
    connections: () => open.size,
    stopListening: () => {
      if (listening) uws.us_listen_socket_close(listening);
      listening = null;
    },
    closeAll: (code, reason) => {
      for (const ws of [...open]) ws.end(code, reason);
    },
  };
}
