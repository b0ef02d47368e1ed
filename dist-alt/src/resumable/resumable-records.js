export {};
//# sourceMappingURL=resumable-records.js.map