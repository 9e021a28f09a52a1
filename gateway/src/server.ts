/**
 * uWebSockets.js wiring only: sockets in, ClientConnection out. An idle
 * socket costs little more than uWS's own: a ClientConnection, its socket
 * adapter, id, logger and rate-limit budget are made on its first frame.
 */
import { randomBytes } from 'node:crypto';
import { CloseCode, errors, MiB } from '@media-foundry/shared';
import { parseTraceparent } from '@media-foundry/shared/node';
import { originAllowed, presentedToken, type Principal } from './auth.js';
import type { ClientSocket } from './client-socket.js';
import { ClientConnections } from './client-connections.js';
import { ClientConnection, type GatewayContext } from './connection.js';
import { serveDemoPage } from './demo-page.js';
import { serveSignedFiles } from './file-route.js';
import { type RateBucket, type RateDecision, RateLimit } from './rate-limiter.js';
import type { TemplatedApp, Uws, WebSocket, us_listen_socket } from './uws.js';

/**
 * What uWS keeps for each socket (it copies these onto the uWS.WebSocket
 * object, each a slot there). Kept to three, set on the upgrade, so that
 * every socket has one shape and an idle one holds three references: V8
 * adds slots three at a time. Whether a socket was admitted is whether it
 * is in the server's `open` set.
 */
interface SocketData {
  /** Shared by all connections of a key (see auth.ts). */
  principal: Principal;
  /** The `traceparent` header as sent ('' without one); parsed on the first frame. */
  traceparent: string;
  /** Made on the first frame (see `activate`). */
  live: LiveSocket | null;
}

/** What a socket holds once its client has sent a frame. */
interface LiveSocket {
  /** Its id is the connection's. */
  readonly socket: UwsClientSocket;
  readonly connection: ClientConnection;
  /** Its share of WS_MAX_MESSAGES_PER_SECOND. */
  readonly rate: RateBucket;
  /** When the client was last told it is rate limited (tell at most once a second); 0: never. */
  limitedNoticeAt: number;
}

/** The close reason when a key has MAX_CONNECTIONS_PER_CLIENT open already (at most 123 bytes). */
export const TOO_MANY_CONNECTIONS_REASON = 'too many connections for this API key or token (MAX_CONNECTIONS_PER_CLIENT)';

/** Binary frames wait until the send buffer is below this before going out. */
const SEND_HIGH_WATER_BYTES = MiB;
/** Above this much unsent data, progress messages are coalesced (latest per job) instead of queued. */
const COALESCE_ABOVE_BYTES = 256 * 1024;
/** The close reason for a client whose replies waiting behind a fragmented output passed MAX_BACKPRESSURE_BYTES. */
export const NOT_READING_REASON = 'not reading: over 64 MiB of replies waiting';
/** Per-client send-buffer ceiling (uWS drops messages above it). */
export const MAX_BACKPRESSURE_BYTES = 64 * MiB;

/**
 * A uWS.WebSocket behind ClientSocket: corked sends, a closed flag, drain
 * waiting. Its queues are made when first needed: most sockets never wait.
 */
export class UwsClientSocket implements ClientSocket {
  closed = false;
  private drainWaiters: (() => void)[] | null = null;
  /** Settles when the last frame queued by sendBinaryWhenWritable went out (or failed); null when none is queued. */
  private turn: Promise<void> | null = null;
  /** Coalesced messages waiting for the client to drain: key → latest text. */
  private held: Map<string, string> | null = null;
  /** While a fragmented message is going out: the JSON texts that wait for its last piece, in order. */
  private afterFragments: string[] | null = null;
  /** The length of the texts in `afterFragments`. */
  private afterFragmentsChars = 0;
  /**
   * Payload bytes handed to uWS so far (a string's length in UTF-16 units, never more than its UTF-8 bytes).
   * What uWS adds (frame headers, pings) is not counted, so `handed - buffered` never overstates what has left.
   */
  private handed = 0;

  constructor(
    readonly id: string,
    private readonly ws: WebSocket<SocketData>,
  ) {}

  sendJson(message: object, coalesceKey?: string): void {
    if (this.closed) return;
    const text = JSON.stringify(message);
    if (this.afterFragments !== null && coalesceKey === undefined) {
      // held progress is older than this message: it keeps its place in line
      this.afterFragments.push(...(this.held?.values() ?? []), text);
      this.held?.clear();
      this.afterFragmentsChars += text.length;
      // A client that stopped reading mid-message while it keeps sending (pings, refused requests) would have
      // the replies pile up here, out of uWS's reach and its MAX_BACKPRESSURE_BYTES: the same ceiling, then closed.
      if (this.afterFragmentsChars > MAX_BACKPRESSURE_BYTES) this.ws.end(CloseCode.POLICY_VIOLATION, NOT_READING_REASON);
      return;
    }
    if (coalesceKey !== undefined) {
      if (
        this.afterFragments !== null ||
        (this.held !== null && this.held.size > 0) ||
        this.ws.getBufferedAmount() > COALESCE_ABOVE_BYTES
      ) {
        this.held ??= new Map();
        this.held.delete(coalesceKey); // re-insert: keep the order of the latest updates
        this.held.set(coalesceKey, text);
        return;
      }
    } else this.flushHeld(); // whatever was held is older than this message
    this.ws.cork(() => this.sendText(text));
  }

  /** One JSON text, inside a cork; counted unless uWS dropped it (over MAX_BACKPRESSURE_BYTES). */
  private sendText(text: string): void {
    if (this.ws.send(text, false) !== 2) this.handed += text.length;
  }

  private flushHeld(): void {
    if (this.held === null || this.held.size === 0) return;
    const texts = [...this.held.values()];
    this.held.clear();
    this.ws.cork(() => {
      for (const text of texts) this.sendText(text);
    });
  }

  async sendBinary(frame: Uint8Array): Promise<void> {
    await this.writable();
    let status = 0;
    this.ws.cork(() => (status = this.ws.send(frame, true)));
    if (status === 2) throw errors.outputSendFailed('the client is not reading (send buffer full)');
    this.handed += frame.length;
  }

  close(code: number, reason: string): void {
    if (!this.closed) this.ws.end(code, reason);
  }

  sendBinaryWhenWritable(make: () => Promise<Uint8Array>): Promise<void> {
    return this.inTurn(async () => {
      await this.writable();
      await this.sendBinary(await make());
    });
  }

  sendFragmentsWhenWritable(next: () => Promise<{ piece: Uint8Array; last: boolean }>): Promise<void> {
    return this.inTurn(async () => {
      let started = false;
      try {
        for (let last = false; !last;) {
          await this.writable();
          const made = await next();
          if (this.closed) throw errors.outputSendFailed('the connection closed');
          last = made.last;
          // below the high-water mark, far below MAX_BACKPRESSURE_BYTES: uWS takes every piece
          if (!started && last) this.ws.cork(() => this.ws.send(made.piece, true));
          else if (!started) this.ws.cork(() => this.ws.sendFirstFragment(made.piece, true));
          else if (last) this.ws.cork(() => this.ws.sendLastFragment(made.piece));
          else this.ws.cork(() => this.ws.sendFragment(made.piece));
          this.handed += made.piece.length;
          if (!started) {
            this.afterFragments = [];
            this.afterFragmentsChars = 0;
          }
          started = true;
        }
      } catch (err) {
        if (started && !this.closed) this.ws.end(CloseCode.INTERNAL_ERROR, 'an output could not be sent whole');
        throw err;
      } finally {
        const waiting = this.afterFragments ?? [];
        this.afterFragments = null;
        if (!this.closed && waiting.length > 0)
          this.ws.cork(() => {
            for (const text of waiting) this.sendText(text);
          });
        if (!this.closed && this.ws.getBufferedAmount() <= COALESCE_ABOVE_BYTES) this.flushHeld();
      }
    });
  }

  /** Runs `send` after every send queued before it has settled: binary messages go out one after another. */
  private async inTurn(send: () => Promise<void>): Promise<void> {
    const previous = this.turn;
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    this.turn = mine;
    try {
      await previous;
      await send();
    } finally {
      done();
      if (this.turn === mine) this.turn = null; // the last one queued: nothing left to wait for
    }
  }

  /** Resolves once the send buffer is below its high-water mark; rejects when the socket closes first. */
  private writable(): Promise<void> {
    return this.until(() => this.ws.getBufferedAmount() <= SEND_HIGH_WATER_BYTES);
  }

  /** What was handed to uWS before this call has left its buffer: later sends (other jobs' frames) do not count. */
  flushed(): Promise<void> {
    const upTo = this.handed;
    return this.until(() => this.handed - this.ws.getBufferedAmount() >= upTo);
  }

  /** Resolves once `ready()` holds, looking again at each drain; rejects when the socket closes first. */
  private async until(ready: () => boolean): Promise<void> {
    while (!this.closed && !ready()) await new Promise<void>((resolve) => (this.drainWaiters ??= []).push(resolve));
    if (this.closed) throw errors.outputSendFailed('the connection closed');
  }

  onDrain(): void {
    if (!this.closed && this.afterFragments === null && this.ws.getBufferedAmount() <= COALESCE_ABOVE_BYTES) this.flushHeld();
    const waiters = this.drainWaiters;
    this.drainWaiters = null;
    for (const wake of waiters ?? []) wake();
  }

  onClose(): void {
    this.closed = true;
    this.onDrain();
  }
}

export interface GatewayServer {
  port: number;
  connections(): number;
  /**
   * Open connections that hold a ClientConnection and rate budget: those
   * that have sent a frame (with debug logging, every one from its open).
   */
  liveConnections(): number;
  /** New upgrades get 503 (shutting down); open sockets stay. */
  refuseUpgrades(): void;
  /** Stops listening; open sockets stay until closeAll. */
  stopListening(): void;
  closeAll(code: number, reason: string): void;
}

export async function startGatewayServer(uws: Uws, ctx: GatewayContext): Promise<GatewayServer> {
  const { config, logger } = ctx;
  const open = new Set<WebSocket<SocketData>>();
  const perClient = new ClientConnections(config.maxConnectionsPerClient);
  const rateLimit = new RateLimit(config.wsMaxMessagesPerSecond);
  let live = 0;
  let refusing = false;
  const app: TemplatedApp = uws.App();
  serveSignedFiles(app, ctx.storage, ctx.urls, logger, config.maxFileDownloads);
  if (config.demoPage) await serveDemoPage(app, { authRequired: ctx.authenticator.enabled }, logger);

  /** A socket's first frame: everything a connection holds beyond uWS's own is made now. */
  function activate(ws: WebSocket<SocketData>, data: SocketData): LiveSocket {
    const socket = new UwsClientSocket(randomBytes(6).toString('hex'), ws);
    // with auth off every connection is its own client
    const principal = data.principal.kind === 'anonymous' ? { id: `conn:${socket.id}`, kind: 'anonymous' as const } : data.principal;
    const connection = new ClientConnection(socket, ctx, principal, parseTraceparent(data.traceparent));
    live++;
    return (data.live = { socket, connection, rate: rateLimit.bucket(), limitedNoticeAt: 0 });
  }

  app.ws<SocketData>('/*', {
    maxPayloadLength: config.wsMaxSizeBytes,
    maxBackpressure: MAX_BACKPRESSURE_BYTES,
    // uWS pings an idle client itself and closes it when this passes silently (granularity ~4 s, minimum 8).
    idleTimeout: config.wsPingIntervalSeconds === 0 ? 0 : Math.max(8, config.wsPingIntervalSeconds + config.wsPingTimeoutSeconds),
    sendPingsAutomatically: config.wsPingIntervalSeconds > 0,
    compression: uws.DISABLED,
    upgrade: (res, req, context) => {
      // uWS invalidates `req` after this callback returns: copy what we need first
      const secKey = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      const origin = req.getHeader('origin');
      const traceparent = req.getHeader('traceparent');
      const token = presentedToken(req.getHeader('authorization'), req.getQuery() ?? '');
      let aborted = false;
      res.onAborted(() => (aborted = true));
      const refuse = (status: string, why: string) =>
        res.cork(() => res.writeStatus(status).writeHeader('content-type', 'text/plain').end(why));
      if (refusing) {
        // the load balancer has not noticed /ready yet: send the client to another gateway
        res.cork(() =>
          res
            .writeStatus('503 Service Unavailable')
            .writeHeader('retry-after', '1')
            .writeHeader('content-type', 'text/plain')
            .end('shutting down'),
        );
        return;
      }
      if (!originAllowed(origin, config.allowedOrigins)) {
        refuse('403 Forbidden', 'origin not allowed');
        return;
      }
      ctx.authenticator
        .authenticate(token)
        .then((principal) => {
          if (aborted) return;
          if (!principal) {
            logger.info({ origin }, 'refused an unauthenticated WebSocket upgrade');
            res.cork(() =>
              res.writeStatus('401 Unauthorized').writeHeader('www-authenticate', 'Bearer').end('missing or invalid API key or token'),
            );
            return;
          }
          const data: SocketData = { principal, traceparent, live: null };
          res.cork(() => res.upgrade<SocketData>(data, secKey, protocol, extensions, context));
        })
        .catch((err: unknown) => {
          logger.error({ err }, 'authentication failed unexpectedly');
          if (!aborted) refuse('500 Internal Server Error', 'authentication error');
        });
    },
    open: (ws) => {
      const data = ws.getUserData();
      // counted here, not on the upgrade: authentication is async, and only an open socket holds anything.
      // A close code and reason reach a browser; the HTTP status of a refused upgrade does not.
      if (data.principal.kind !== 'anonymous' && !perClient.admit(data.principal.id)) {
        logger.warn(
          { client: data.principal.id, limit: config.maxConnectionsPerClient },
          'refused a connection over MAX_CONNECTIONS_PER_CLIENT',
        );
        ws.end(CloseCode.POLICY_VIOLATION, TOO_MANY_CONNECTIONS_REASON);
        return;
      }
      open.add(ws);
      if (logger.isLevelEnabled('debug')) {
        // the debug log names the connection from the start: it is made now, not on its first frame
        const { connection } = activate(ws, data);
        logger.debug({ conn_id: connection.id, client: connection.principal.id }, 'client connected');
      }
    },
    message: (ws, message, isBinary) => {
      if (!open.has(ws)) return; // refused (MAX_CONNECTIONS_PER_CLIENT)
      const data = ws.getUserData();
      const state = data.live ?? activate(ws, data);
      const { connection, rate } = state;
      let decision: RateDecision = 'ok';
      try {
        // uWS reuses `message` after this callback returns: decode or copy it now.
        // Every frame costs budget (a chunk of an upload in progress a fraction), charged before it is handled.
        if (isBinary) decision = connection.onBinary(new Uint8Array(message), (cost) => rateLimit.take(rate, cost));
        else {
          decision = rateLimit.take(rate);
          if (decision === 'ok') connection.onText(Buffer.from(message));
        }
      } catch (err) {
        logger.error({ err }, 'unexpected error handling a message');
      }
      if (decision === 'abusive') {
        logger.warn({ conn_id: connection.id }, 'closing a connection that keeps exceeding the message rate');
        ws.end(CloseCode.POLICY_VIOLATION, 'rate limit exceeded');
      } else if (decision === 'limited') {
        const now = Date.now();
        if (now - state.limitedNoticeAt >= 1000) {
          state.limitedNoticeAt = now;
          connection.sendRateLimited(config.wsMaxMessagesPerSecond);
        }
      }
    },
    drain: (ws) => ws.getUserData().live?.socket.onDrain(),
    close: (ws, code) => {
      const data = ws.getUserData();
      if (open.delete(ws) && data.principal.kind !== 'anonymous') perClient.release(data.principal.id);
      if (data.live) {
        live--;
        data.live.socket.onClose();
        data.live.connection.onClose();
      }
      logger.debug({ conn_id: data.live?.socket.id, code }, 'client disconnected');
    },
  });
  // uWS hands a request without a WebSocket upgrade on to the next route: a plain GET (or any other
  // request) no route serves gets a 404 instead of a closed connection
  app.any('/*', (res) => {
    res.cork(() => res.writeStatus('404 Not Found').end('not found'));
  });

  const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
    app.listen(config.wsHost, config.wsPort, (token) =>
      token ? resolve(token) : reject(new Error(`cannot listen on ${config.wsHost}:${config.wsPort}`)),
    );
  });
  let listening: us_listen_socket | null = listenSocket;
  return {
    port: uws.us_socket_local_port(listenSocket),
    connections: () => open.size,
    liveConnections: () => live,
    refuseUpgrades: () => {
      refusing = true;
    },
    stopListening: () => {
      if (listening) uws.us_listen_socket_close(listening);
      listening = null;
    },
    closeAll: (code, reason) => {
      for (const ws of [...open]) ws.end(code, reason);
    },
  };
}
