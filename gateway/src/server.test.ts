import { jest } from '@jest/globals';
import { CloseCode, loadGatewayConfig, MiB } from '@media-foundry/shared';
import { createLogger, type Storage } from '@media-foundry/shared/node';
import type { HttpRequest, HttpResponse, WebSocket, WebSocketBehavior } from 'uWebSockets.js';
import { createAuthenticator } from './auth.js';
import type { GatewayContext } from './connection.js';
import type { DownloadUrls } from './download-urls.js';
import type { JobHolder } from './jobs/job.js';
import type { JobLifecycle } from './jobs/lifecycle.js';
import { startGatewayServer, TOO_MANY_CONNECTIONS_REASON, UwsClientSocket } from './server.js';
import type { Uws } from './uws.js';

/** A stand-in for uWS.WebSocket: a send buffer the test fills and drains. */
function fakeWs() {
  const sent: string[] = [];
  const ws = {
    buffered: 0,
    getBufferedAmount: () => ws.buffered,
    cork: (fn: () => void) => fn(),
    send: (text: string | Uint8Array) => {
      sent.push(typeof text === 'string' ? text : `<${text.length} bytes>`);
      return 1;
    },
    sendFirstFragment: (piece: Uint8Array) => sent.push(`<first ${piece.length}>`) > 0,
    sendFragment: (piece: Uint8Array) => sent.push(`<fragment ${piece.length}>`) > 0,
    sendLastFragment: (piece: Uint8Array) => sent.push(`<last ${piece.length}>`) > 0,
    end: (code: number) => sent.push(`<end ${code}>`),
  };
  return { ws, sent, socket: new UwsClientSocket('c1', ws as unknown as WebSocket<never>) };
}

describe('UwsClientSocket', () => {
  it('sends progress at once to a client that keeps up', () => {
    const { socket, sent } = fakeWs();
    socket.sendJson({ p: 1 }, 'progress:a');
    socket.sendJson({ p: 2 }, 'progress:a');
    expect(sent).toEqual(['{"p":1}', '{"p":2}']);
  });

  it('keeps only the latest progress per job for a congested client, and sends it on drain', () => {
    const { ws, socket, sent } = fakeWs();
    ws.buffered = 10 * MiB;
    for (let p = 1; p <= 50; p++) socket.sendJson({ job: 'a', p }, 'progress:a');
    socket.sendJson({ job: 'b', p: 7 }, 'progress:b');
    expect(sent).toEqual([]);
    ws.buffered = 0;
    socket.onDrain();
    expect(sent).toEqual(['{"job":"a","p":50}', '{"job":"b","p":7}']);
  });

  it('sends held progress before a later message, so completed is never followed by stale progress', () => {
    const { ws, socket, sent } = fakeWs();
    ws.buffered = 10 * MiB;
    socket.sendJson({ p: 99 }, 'progress:a');
    socket.sendJson({ type: 'completed' });
    expect(sent).toEqual(['{"p":99}', '{"type":"completed"}']);
  });

  it('waits for drain before a binary frame when the buffer is high, and fails once closed', async () => {
    const { ws, socket, sent } = fakeWs();
    ws.buffered = 5 * MiB;
    const sending = socket.sendBinary(new Uint8Array(10));
    await new Promise((r) => setTimeout(r, 10));
    expect(sent).toEqual([]);
    ws.buffered = 0;
    socket.onDrain();
    await sending;
    expect(sent).toEqual(['<10 bytes>']);
    socket.onClose();
    await expect(socket.sendBinary(new Uint8Array(1))).rejects.toMatchObject({ code: 'OUTPUT_SEND_FAILED' });
  });

  it('says what was sent has left once the buffer no longer holds it — not merely below its high-water mark, nor waiting for later sends; fails when it closes first', async () => {
    const { ws, socket } = fakeWs();
    await socket.flushed(); // nothing sent
    await socket.sendBinary(new Uint8Array(3 * MiB));
    ws.buffered = 3 * MiB; // all of it still in the buffer
    let left = false;
    const flushed = socket.flushed().then(() => (left = true));
    ws.buffered = 100;
    socket.onDrain();
    await new Promise((r) => setTimeout(r, 10));
    expect(left).toBe(false); // 100 of its bytes are still there
    // another job's frame goes out behind it; once the first frame's last byte has left, it is done
    await socket.sendBinary(new Uint8Array(MiB));
    ws.buffered = MiB + 100;
    socket.onDrain();
    await new Promise((r) => setTimeout(r, 10));
    expect(left).toBe(false);
    ws.buffered = MiB;
    socket.onDrain();
    await flushed;
    const second = socket.flushed(); // the second frame's MiB is still buffered
    socket.onClose();
    await expect(second).rejects.toMatchObject({ code: 'OUTPUT_SEND_FAILED' });
  });

  it('makes a frame only once the socket can take it, one at a time, each after the previous one went out', async () => {
    const { ws, socket, sent } = fakeWs();
    ws.buffered = 5 * MiB;
    const made: string[] = [];
    const frame = (name: string, bytes: number) => async () => {
      made.push(name);
      await new Promise((r) => setTimeout(r, 5)); // a storage read
      return new Uint8Array(bytes);
    };
    const first = socket.sendBinaryWhenWritable(frame('a', 3));
    const second = socket.sendBinaryWhenWritable(frame('b', 4));
    await new Promise((r) => setTimeout(r, 20));
    expect(made).toEqual([]); // nothing read while the client is congested
    ws.buffered = 0;
    socket.onDrain();
    await first;
    await second;
    expect(made).toEqual(['a', 'b']);
    expect(sent).toEqual(['<3 bytes>', '<4 bytes>']);
    // a failed read passes its error on and frees the turn
    await expect(socket.sendBinaryWhenWritable(() => Promise.reject(new Error('storage down')))).rejects.toThrow('storage down');
    await socket.sendBinaryWhenWritable(frame('c', 5));
    expect(sent.at(-1)).toBe('<5 bytes>');
  });

  it('sends a message in fragments, one piece read per drain, with JSON sent meanwhile after the last piece', async () => {
    const { ws, socket, sent } = fakeWs();
    const sizes = [4, 5, 6];
    let reads = 0;
    ws.buffered = 5 * MiB;
    const sending = socket.sendFragmentsWhenWritable(async () => {
      const piece = new Uint8Array(sizes[reads]!);
      reads++;
      ws.buffered = 5 * MiB; // the client is slow: each piece fills its buffer
      return { piece, last: reads === sizes.length };
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(reads).toBe(0); // nothing read for a congested client
    ws.buffered = 0;
    socket.onDrain();
    await new Promise((r) => setTimeout(r, 10));
    expect(reads).toBe(1); // one piece, then it waits for the next drain
    socket.sendJson({ type: 'progress', p: 1 }, 'progress:b');
    socket.sendJson({ type: 'error', job_id: 'b' });
    socket.sendJson({ type: 'progress', p: 2 }, 'progress:c');
    const next = socket.sendBinaryWhenWritable(() => Promise.resolve(new Uint8Array(7)));
    for (let i = 0; i < 2; i++) {
      ws.buffered = 0;
      socket.onDrain();
      await new Promise((r) => setTimeout(r, 10));
    }
    await sending;
    ws.buffered = 0;
    socket.onDrain();
    await next;
    expect(sent).toEqual([
      '<first 4>',
      '<fragment 5>',
      '<last 6>',
      '{"type":"progress","p":1}',
      '{"type":"error","job_id":"b"}',
      '{"type":"progress","p":2}',
      '<7 bytes>',
    ]);
  });

  it('closes a client that stopped reading mid-message once the replies waiting behind it pass MAX_BACKPRESSURE_BYTES', async () => {
    const { ws, socket, sent } = fakeWs();
    let reads = 0;
    const sending = socket.sendFragmentsWhenWritable(async () => {
      reads++;
      ws.buffered = 5 * MiB; // and the client reads no more
      return { piece: new Uint8Array(4), last: false };
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(reads).toBe(1);
    // it keeps sending requests that are answered (refused ones, pings): each answer waits for the message's end
    const answer = { type: 'error', details: 'x'.repeat(MiB - 64) }; // just under 1 MiB as JSON
    for (let i = 0; i < 64; i++) socket.sendJson(answer);
    expect(sent.filter((m) => m.startsWith('<end'))).toEqual([]);
    socket.sendJson(answer);
    expect(sent.filter((m) => m.startsWith('<end'))).toEqual([`<end ${CloseCode.POLICY_VIOLATION}>`]);
    socket.onClose(); // what uWS does on end()
    await expect(sending).rejects.toMatchObject({ code: 'OUTPUT_SEND_FAILED' });
  });

  it('sends a one-piece message as a plain frame', async () => {
    const { socket, sent } = fakeWs();
    await socket.sendFragmentsWhenWritable(() => Promise.resolve({ piece: new Uint8Array(3), last: true }));
    expect(sent).toEqual(['<3 bytes>']);
  });

  it('closes the connection with 1011 when a piece cannot be made once the message has begun', async () => {
    const { socket, sent } = fakeWs();
    let reads = 0;
    const sending = socket.sendFragmentsWhenWritable(() => {
      if (reads++ === 1) return Promise.reject(new Error('storage gone'));
      return Promise.resolve({ piece: new Uint8Array(2), last: false });
    });
    await expect(sending).rejects.toThrow('storage gone');
    expect(sent).toEqual(['<first 2>', '<end 1011>']);
    // before the first piece, a failure leaves the socket usable
    const fresh = fakeWs();
    await expect(fresh.socket.sendFragmentsWhenWritable(() => Promise.reject(new Error('no')))).rejects.toThrow('no');
    await fresh.socket.sendBinaryWhenWritable(() => Promise.resolve(new Uint8Array(1)));
    expect(fresh.sent).toEqual(['<1 bytes>']);
  });

  it('closes with a code and reason once, and not after the socket closed', () => {
    const ends: [number, string][] = [];
    const { ws, socket } = fakeWs();
    Object.assign(ws, { end: (code: number, reason: string) => ends.push([code, reason]) });
    socket.close(1009, 'too big');
    socket.onClose();
    socket.close(1009, 'again');
    expect(ends).toEqual([[1009, 'too big']]);
  });
});

const KEY = 'k3y-0123456789abcdef';

/**
 * startGatewayServer on a stand-in for uWebSockets.js that does what uWS
 * does with a socket: the upgrade's user data copied onto the WebSocket
 * object (which is what getUserData returns), `end` calling the close
 * handler at once.
 */
async function fakeGateway(env: Record<string, string> = {}, logLevel = 'silent') {
  let behavior!: WebSocketBehavior<object>;
  const app = {
    ws: (_pattern: string, b: WebSocketBehavior<object>) => ((behavior = b), app),
    get: () => app,
    any: () => app,
    listen: (_host: string, _port: number, listening: (token: object) => void) => (listening({}), app),
  };
  const uws = { App: () => app, DISABLED: 0, us_socket_local_port: () => 1, us_listen_socket_close: () => {} } as unknown as Uws;
  const logger = createLogger('test', logLevel);
  const children = jest.spyOn(logger, 'child');
  const started: JobHolder[] = [];
  const detached: JobHolder[] = [];
  // the parts of the lifecycle a connection calls; a real start logs for the job
  const jobs = {
    start: (holder: JobHolder) => {
      started.push(holder);
      holder.log.info('job received');
    },
    detach: (holder: JobHolder) => detached.push(holder),
  } as unknown as JobLifecycle;
  const ctx: GatewayContext = {
    config: loadGatewayConfig({ API_KEYS: KEY, ...env }),
    logger,
    storage: {} as Storage,
    urls: {} as DownloadUrls,
    authenticator: createAuthenticator({ apiKeys: [KEY] }),
    jobs,
  };
  const server = await startGatewayServer(uws, ctx);

  /** A client's socket once upgraded and opened, with what it was sent and how it was closed. */
  const connect = async () => {
    const upgraded: Record<string, unknown>[] = [];
    const headers: Record<string, string> = { authorization: `Bearer ${KEY}` };
    const req = { getHeader: (name: string) => headers[name] ?? '', getQuery: () => '' } as unknown as HttpRequest;
    const res = {
      onAborted: () => res,
      cork: (fn: () => void) => (fn(), res),
      upgrade: (data: Record<string, unknown>) => upgraded.push(data),
    } as unknown as HttpResponse;
    void behavior.upgrade!(res, req, {} as never);
    await new Promise((r) => setImmediate(r)); // authentication is async
    if (upgraded.length !== 1) throw new Error('not upgraded');
    const sent: Record<string, unknown>[] = [];
    const ws = Object.assign(upgraded[0]!, {
      closed: null as [number, string] | null,
      getUserData: () => ws,
      getBufferedAmount: () => 0,
      cork: (fn: () => void) => fn(),
      send: (text: string) => (sent.push(JSON.parse(text) as Record<string, unknown>), 1),
      end: (code: number, reason: string) => {
        ws.closed = [code, reason];
        behavior.close!(ws as unknown as WebSocket<object>, code, new ArrayBuffer(0));
      },
    });
    const socket = ws as unknown as WebSocket<object>;
    void behavior.open!(socket);
    return {
      ws,
      sent,
      text: (message: object) =>
        void behavior.message!(socket, new TextEncoder().encode(JSON.stringify(message)).buffer as ArrayBuffer, false),
      close: () => behavior.close!(socket, 1000, new ArrayBuffer(0)),
    };
  };
  return { server, connect, logger, children, started, detached };
}

describe('startGatewayServer', () => {
  it('holds no connection, logger or rate budget for a socket until it sends a frame', async () => {
    const { server, connect, children } = await fakeGateway();
    const clients = [await connect(), await connect(), await connect()];
    expect(server.connections()).toBe(3);
    expect(server.liveConnections()).toBe(0);
    expect(children).not.toHaveBeenCalled();
    // what an idle socket keeps: a principal shared by every connection of its key, the traceparent, nothing else yet
    expect(clients[0]!.ws.getUserData().principal).toBe(clients[1]!.ws.getUserData().principal);
  });

  it('makes the connection on the first frame, and its logger only when something is logged for it', async () => {
    const { server, connect, children, started, detached } = await fakeGateway();
    const client = await connect();
    client.text({ type: 'ping' });
    expect(client.sent).toEqual([{ type: 'pong' }]);
    expect(server.liveConnections()).toBe(1);
    expect(children).not.toHaveBeenCalled();
    client.text({ type: 'start_job', job_id: 'a', operation: 'remove_audio', input: { source: 'url', url: 'https://example.com/a.mp4' } });
    expect(started).toHaveLength(1);
    expect(children).toHaveBeenCalledTimes(1);
    expect(children).toHaveBeenCalledWith({ conn_id: started[0]!.id, client: started[0]!.principal.id });
    client.close();
    expect(detached).toEqual(started);
    expect([server.connections(), server.liveConnections()]).toEqual([0, 0]);
  });

  it('makes the connection on open when debug logging wants its id from the start', async () => {
    const { server, connect, logger } = await fakeGateway({}, 'debug');
    const debug = jest.spyOn(logger, 'debug').mockImplementation(() => {});
    await connect();
    expect(debug).toHaveBeenCalledWith(expect.objectContaining({ conn_id: expect.stringMatching(/^[0-9a-f]{12}$/) }), 'client connected');
    expect(server.liveConnections()).toBe(1);
  });

  it('charges the first frame like every other: a burst over the rate is limited from the first', async () => {
    const { connect } = await fakeGateway({ WS_MAX_MESSAGES_PER_SECOND: '2' });
    const client = await connect();
    for (let i = 0; i < 3; i++) client.text({ type: 'ping' });
    expect(client.sent.map((m) => m.code ?? m.type)).toEqual(['pong', 'pong', 'RATE_LIMITED']);
  });

  it('refuses a connection over MAX_CONNECTIONS_PER_CLIENT, ignores its frames, and counts a closed one no more', async () => {
    const { server, connect } = await fakeGateway({ MAX_CONNECTIONS_PER_CLIENT: '1' });
    const first = await connect();
    const refused = await connect();
    expect(refused.ws.closed).toEqual([1008, TOO_MANY_CONNECTIONS_REASON]);
    refused.text({ type: 'ping' });
    expect(refused.sent).toEqual([]);
    expect([server.connections(), server.liveConnections()]).toEqual([1, 0]);
    first.close();
    const next = await connect();
    expect(next.ws.closed).toBeNull();
    expect(server.connections()).toBe(1);
  });
});
