/**
 * @media-foundry/client for browsers: the native WebSocket (the API key in
 * `?token=`), Files and Blobs as inputs, outputs in memory.
 */
import { type ConnectOptions, MediaFoundryClient, type Platform } from './client.js';
import { openPortableSource } from './inputs.js';
import { whatwgOpener } from './socket.js';

const browserPlatform: Platform = {
  openSocket: (url, apiKey, handlers) => whatwgOpener(globalThis.WebSocket)(url, apiKey, handlers),
  openSource: openPortableSource,
  socketFrom: whatwgOpener,
};

/** The media-foundry client (browsers). */
export class MediaFoundry extends MediaFoundryClient {
  /** Connects to a gateway (`ws://` or `wss://`); rejects with CONNECTION_FAILED. */
  static async connect(url: string, options: ConnectOptions = {}): Promise<MediaFoundry> {
    return MediaFoundryClient.open(new MediaFoundry(url, browserPlatform, options));
  }
}

export * from './exports.js';
