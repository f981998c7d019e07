/** How a contract suite gets a fresh implementation under test, once per case. */
export type Create<UnderTest> = () => Promise<UnderTest> | UnderTest;
