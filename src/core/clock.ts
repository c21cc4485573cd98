/** Time is injected so tests can move it (JWT expiry, TOTP windows, session timeouts, throttling). */
export type Clock = () => Date;
export const systemClock: Clock = () => new Date();

export const iso = (date: Date) => date.toISOString();
export const addSeconds = (date: Date, seconds: number) => new Date(date.getTime() + seconds * 1000);
