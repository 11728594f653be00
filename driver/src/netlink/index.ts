export * from './types';
export { openNetlink, type OpenNetlinkOptions } from './handle';
