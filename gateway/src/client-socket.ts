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
  /**
   * Like sendBinary, but the frame is made only once the socket can take it,
   * and one at a time per socket: a delivery waiting for a slow client holds
   * nothing, and a client's several deliveries hold at most one frame between
   * them. Rejects like sendBinary, or with what `make` threw.
   */
  sendBinaryWhenWritable(make: () => Promise<Uint8Array>): Promise<void>;
  /**
   * Sends one binary message made of pieces, as WebSocket fragments: the
   * client receives one message while the gateway holds one piece at a time.
   * `next` is called each time the socket can take a piece and returns it
   * (with `last` on the final one); sends queue behind it as for
   * sendBinaryWhenWritable, and JSON messages sent meanwhile go out after
   * its last piece (a WebSocket message cannot be interleaved with another).
   * If `next` throws once the first piece went out, the message can no
   * longer be finished: the connection is closed (1011) and the error passed on.
   */
  sendFragmentsWhenWritable(next: () => Promise<{ piece: Uint8Array; last: boolean }>): Promise<void>;
  /**
   * Resolves once everything sent before this call has left the gateway's
   * send buffer for the network (what is sent later, another job's output,
   * is not waited for); rejects when the socket closes first (what was still
   * buffered then never reached the client).
   */
  flushed(): Promise<void>;
  /**
   * Closes the connection with a WebSocket close code, after what was sent
   * before — except JSON waiting for the last piece of a fragmented message:
   * a client that stops reading must not be able to hold its connection open
   * by it, so the close comes at once and its code and reason say why.
   */
  close(code: number, reason: string): void;
}
