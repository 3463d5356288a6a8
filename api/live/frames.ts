import type { LiveEvent } from './resume-buffer';

/** An event as one transport puts it on the wire. */
export type FrameOf<T> = (event: LiveEvent<T>) => Buffer;

/**
 * Builds each event's frame on first use and hands the same bytes to every client of the route: fanning
 * an event out to N clients costs one serialization, not N. A frame lives as long as its event (the
 * resume buffer holds the last events), so a resume reuses it too.
 */
export function frameCache<T>(build: (event: LiveEvent<T>) => string): FrameOf<T> {
  const frames = new WeakMap<LiveEvent<T>, Buffer>();
  return (event) => {
    let frame = frames.get(event);
    if (frame === undefined) {
      frame = Buffer.from(build(event), 'utf8');
      frames.set(event, frame);
    }
    return frame;
  };
}
