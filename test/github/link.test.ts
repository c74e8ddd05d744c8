import { describe, it } from "vitest";
import { parseLink } from "../../src/github/link";

describe("parseLink (GitHub's Link header)", () => {
  it("reads next and last exactly as GitHub writes them", ({ expect }) => {
    const header =
      '<https://api.github.com/repositories/1300192/issues?state=all&per_page=100&page=2>; rel="next", <https://api.github.com/repositories/1300192/issues?state=all&per_page=100&page=7>; rel="last"';
    expect(parseLink(header)).toEqual({
      next: "https://api.github.com/repositories/1300192/issues?state=all&per_page=100&page=2",
      last: "https://api.github.com/repositories/1300192/issues?state=all&per_page=100&page=7",
    });
  });

  it("keeps URLs that contain commas and semicolons-free query strings intact", ({ expect }) => {
    const header = '<https://api.github.com/user/repos?affiliation=owner,collaborator&page=3>; rel="next", <https://api.github.com/user/repos?affiliation=owner,collaborator&page=1>; rel="first"';
    expect(parseLink(header).next).toBe("https://api.github.com/user/repos?affiliation=owner,collaborator&page=3");
    expect(parseLink(header).first).toBe("https://api.github.com/user/repos?affiliation=owner,collaborator&page=1");
  });

  it("has no next on the last page or without a header", ({ expect }) => {
    expect(parseLink('<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=1>; rel="first"').next).toBeUndefined();
    expect(parseLink(null)).toEqual({});
    expect(parseLink("")).toEqual({});
  });

  it("accepts cursor links, unquoted rels and several rels in one parameter", ({ expect }) => {
    const rels = parseLink('<https://api.github.com/x?after=Y3Vyc29y%3D>; rel=next, <https://api.github.com/x?before=abc>; rel="prev first"');
    expect(rels.next).toBe("https://api.github.com/x?after=Y3Vyc29y%3D");
    expect(rels.prev).toBe("https://api.github.com/x?before=abc");
    expect(rels.first).toBe("https://api.github.com/x?before=abc");
  });
});
