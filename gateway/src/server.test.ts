import type { WebSocket } from 'uWebSockets.js';
import { UwsClientSocket } from './server.js';

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
    ws.buffered = 10 * 1024 * 1024;
    for (let p = 1; p <= 50; p++) socket.sendJson({ job: 'a', p }, 'progress:a');
    socket.sendJson({ job: 'b', p: 7 }, 'progress:b');
    expect(sent).toEqual([]);
    ws.buffered = 0;
    socket.onDrain();
    expect(sent).toEqual(['{"job":"a","p":50}', '{"job":"b","p":7}']);
  });

  it('sends held progress before a later message, so completed is never followed by stale progress', () => {
    const { ws, socket, sent } = fakeWs();
    ws.buffered = 10 * 1024 * 1024;
    socket.sendJson({ p: 99 }, 'progress:a');
    socket.sendJson({ type: 'completed' });
    expect(sent).toEqual(['{"p":99}', '{"type":"completed"}']);
  });

  it('waits for drain before a binary frame when the buffer is high, and fails once closed', async () => {
    const { ws, socket, sent } = fakeWs();
    ws.buffered = 5 * 1024 * 1024;
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

  it('makes a frame only once the socket can take it, one at a time, each after the previous one went out', async () => {
    const { ws, socket, sent } = fakeWs();
    ws.buffered = 5 * 1024 * 1024;
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
