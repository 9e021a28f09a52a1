/**
 * @media-foundry/client for browsers: the native WebSocket (the API key in
 * `?token=`), Files and Blobs as inputs, outputs in memory.
 */
import { MediaFoundryClient } from './client.js';
import { openPortableSource } from './inputs.js';
import { whatwgOpener } from './socket.js';

/** The media-foundry client (browsers): `await MediaFoundry.connect(url, options)`. */
export const MediaFoundry = MediaFoundryClient.on({
  openSocket: (url, apiKey, handlers) => whatwgOpener(globalThis.WebSocket)(url, apiKey, handlers),
  openSource: openPortableSource,
});
/** A client connected by `MediaFoundry.connect`. */
export type MediaFoundry = MediaFoundryClient;

export * from './exports.js';
