/** lms-rx: the library's public face. */
export { decodeApf } from './codecs/decode.js';
export { encodeApf, encodedLength, encodeInto } from './codecs/encode.js';
export * from './codecs/index.js';
export { decodeMessages, encodeMessages, type Decoded } from './streams/codecOperators.js';
