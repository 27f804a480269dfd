/** Moved to `breakwater/testing` (src/testing/step-clock.ts); kept so existing imports compile. */
export {
  createStepClock,
  createTracker,
  drive,
  type StepClock,
  TRACK_HEADER,
  type Tracker,
} from '../../src/testing/step-clock.js';
