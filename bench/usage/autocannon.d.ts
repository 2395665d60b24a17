// autocannon ships no types (and @types/autocannon is not installed): typed loosely where bench/usage uses it.
declare module 'autocannon';
