export {};
//# sourceMappingURL=upload-target.js.map