export * from './remote-api';
export * from './naming';
export * from './ip';
export * from './options';
export * from './engine-options';
export * from './status';
export * from './status-schema';
export * from './unix-json';
