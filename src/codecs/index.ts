export * from './brands.js';
export * from './decode.js';
export * from './encode.js';
export * from './errors.js';
export * from './guid.js';
export * from './mei.js';
export * from './messages.js';
export * from './opcodes.js';
