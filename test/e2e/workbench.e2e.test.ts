import { expect, test } from 'vitest';
import { withWorkbench } from './harness';

test('code-server serves the workbench with the Notebook Secrets view in the activity bar', async () => {
  await withWorkbench('workbench', async ({ page }) => {
    await expect
      .poll(() => page.locator('.activitybar [aria-label^="Notebook Secrets"]').count(), {
        timeout: 60_000,
      })
      .toBeGreaterThan(0);
  });
});
