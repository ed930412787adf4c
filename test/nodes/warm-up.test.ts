import { resetWarmUpForTests, warmUpLocalModelInBackground, warmUpScheduled } from '../../nodes/shared/warm-up';

const environment = { ...process.env };
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('local model warm-up', () => {
  beforeEach(() => {
    resetWarmUpForTests();
    process.env.NODE_ENV = 'production';
    delete process.env.LTST_WARM_UP;
  });
  afterAll(() => {
    process.env = environment;
  });

  it('loads once per process, in the background', async () => {
    const load = jest.fn(() => Promise.resolve());
    expect(warmUpLocalModelInBackground(load, 0)).toBe(true);
    expect(warmUpLocalModelInBackground(load, 0)).toBe(false);
    expect(load).not.toHaveBeenCalled(); // not during the module load that called it
    await settle();
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('lets no failure escape: a rejected or throwing load is left to the first execution', async () => {
    const unhandled = jest.fn();
    process.on('unhandledRejection', unhandled);
    try {
      warmUpLocalModelInBackground(() => Promise.reject(new Error('no wasm')), 0);
      await settle();
      resetWarmUpForTests();
      warmUpLocalModelInBackground(() => {
        throw new Error('no module');
      }, 0);
      await settle();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
    expect(unhandled).not.toHaveBeenCalled();
  });

  it('is off with LTST_WARM_UP=off and under test runners', () => {
    const load = jest.fn(() => Promise.resolve());
    process.env.LTST_WARM_UP = 'off';
    expect(warmUpLocalModelInBackground(load, 0)).toBe(false);
    delete process.env.LTST_WARM_UP;
    process.env.NODE_ENV = 'test';
    expect(warmUpLocalModelInBackground(load, 0)).toBe(false);
  });

  it.each(['LtstStoreMessage', 'LtstRetrieveContext'])('starts when n8n loads the %s node module', (node) => {
    jest.useFakeTimers(); // the scheduled load never runs here
    try {
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require(`../../nodes/${node}/${node}.node`);
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        expect((require('../../nodes/shared/warm-up') as { warmUpScheduled: () => boolean }).warmUpScheduled()).toBe(true);
      });
    } finally {
      jest.useRealTimers();
    }
    expect(warmUpScheduled()).toBe(false); // the isolated copy, not this one
  });
});
