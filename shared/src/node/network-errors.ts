/**
 * Socket and resolver error codes that a moment later may cure: a refused or
 * reset connection, a timeout, an unreachable network, a resolver that could
 * not answer now (EAI_AGAIN). ENOTFOUND is not among them: the name does not
 * exist — though for our own S3 endpoint the S3 driver treats it as an outage.
 */
export const TRANSIENT_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);
