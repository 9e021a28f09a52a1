/**
 * The little the client needs of a WebSocket, so that Node's `ws` and a
 * browser's native WebSocket sit behind one shape.
 */
import { ClientErrorCode, MediaFoundryError } from './errors.js';

export interface SocketLike {
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  /** Stops reading from the network (Node: while outputs are written to disk); a no-op in browsers. */
  pause(): void;
  resume(): void;
}

export interface SocketHandlers {
  message(data: string | Uint8Array): void;
  close(code: number, reason: string): void;
}

/** Opens a socket, resolving once it is open; rejects with CONNECTION_FAILED. */
export type SocketOpener = (url: string, apiKey: string | undefined, handlers: SocketHandlers) => Promise<SocketLike>;

/** The constructor of a WHATWG WebSocket (a browser's, Node 22's, or any compatible one). */
export type WebSocketConstructor = new (url: string) => WebSocket;

/** `?token=` is how a browser authenticates: it cannot set an Authorization header on a WebSocket. */
export function withToken(url: string, apiKey: string | undefined): string {
  if (!apiKey) return url;
  const u = new URL(url);
  u.searchParams.set('token', apiKey);
  return u.toString();
}

/** A SocketOpener over a WHATWG WebSocket constructor. */
export function whatwgOpener(Ctor: WebSocketConstructor): SocketOpener {
  return (url, apiKey, handlers) =>
    new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new Ctor(withToken(url, apiKey));
      } catch (err) {
        reject(new MediaFoundryError(ClientErrorCode.CONNECTION_FAILED, 'Cannot connect', { details: String(err), cause: err }));
        return;
      }
      ws.binaryType = 'arraybuffer';
      let open = false;
      ws.onopen = () => {
        open = true;
        resolve({
          send: (data) => ws.send(data),
          close: (code, reason) => ws.close(code, reason),
          pause: () => undefined,
          resume: () => undefined,
        });
      };
      ws.onmessage = (event: MessageEvent) => {
        const data: unknown = event.data;
        handlers.message(typeof data === 'string' ? data : new Uint8Array(data as ArrayBuffer));
      };
      ws.onclose = (event: CloseEvent) => {
        if (open) handlers.close(event.code, event.reason);
        else
          reject(
            new MediaFoundryError(ClientErrorCode.CONNECTION_FAILED, 'Cannot connect', {
              // a browser hides the HTTP status of a refused upgrade: name the usual causes
              details: `the WebSocket to ${url} closed before it opened (code ${event.code}): the server is unreachable, or refused the API key`,
            }),
          );
      };
    });
}
