export type * from './transport.ts';
