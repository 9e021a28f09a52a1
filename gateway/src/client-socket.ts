/**
 * What a client connection needs from its WebSocket. server.ts adapts a
 * uWS.WebSocket to it; keeping uWS out of connection.ts keeps that logic
 * readable (and testable without a socket).
 */
export interface ClientSocket {
  readonly id: string;
  readonly closed: boolean;
  /**
   * Sends a JSON message; a no-op once the socket has closed. Messages with a
   * `coalesceKey` (progress) are held while the client is congested, only the
   * latest per key, and sent when it drains.
   */
  sendJson(message: object, coalesceKey?: string): void;
  /**
   * Sends one binary frame once the socket's send buffer has drained below its
   * high-water mark; rejects when the socket closes first.
   */
  sendBinary(frame: Uint8Array): Promise<void>;
}
