/**
 * The clean-up a test's TestContext gives, for code outside a test: the test starters
 * (startStack, openRawPage) register their hooks here, and `run` calls them in the order they
 * were added, as node:test does (startStack relies on that order), every one of them even when
 * one fails.
 */
export function teardown() {
    const hooks = [];
    return {
        after(fn) {
            hooks.push(fn);
        },
        async run() {
            const failures = [];
            for (const hook of hooks.splice(0)) {
                try {
                    await hook();
                }
                catch (err) {
                    failures.push(err);
                }
            }
            if (failures.length > 0)
                throw new AggregateError(failures, 'clean-up failed');
        },
    };
}
//# sourceMappingURL=teardown.js.map