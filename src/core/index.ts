export * from './encoding';
export * from './errors';
export * from './filter';
export * from './limits';
export * from './model';
export * from './scope';
export * from './validation';
export * from './keyValueStore';
