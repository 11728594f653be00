/**
 * What Docker objects carry (network names, labels, options, aliases: whatever their creator
 * typed) must show as text: never as a link, image, HTML or formatting in a tooltip, never as
 * markup or an attribute break-out in the webview, and an inherited property name is never a
 * context action.
 */
import * as assert from 'assert';
import * as path from 'path';
import * as esbuild from 'esbuild';
import MarkdownIt from 'markdown-it';
import type { ContainerModel, EndpointModel, NetworkGraph, NetworkModel } from '../../docker/model-types';
import { containerTooltip, namespaceTooltip, networkTooltip, sharedFacts } from '../../tree/format';
import { mdCode, mdText } from '../../tree/markdown';
import { escapeHtml } from '../../topology/html-escape';
import { isActionCommand, isItemRef } from '../../topology/protocol';
import { buildScene } from '../../topology/layout-input';

/** CommonMark with raw HTML and bare-URL links on: stricter than VS Code's MarkdownString renderer. */
const md = new MarkdownIt({ html: true, linkify: true });
const visibleText = (html: string) =>
  html.replace(/<[^>]*>/g, '').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

const EVIL = [
  '[click me](command:workbench.action.terminal.new)',
  '![x](https://example.invalid/track.png)',
  '<img src=x onerror=alert(1)>',
  '<script>alert(1)</script>',
  '**bold** _it_ `code` ~~gone~~',
  '```\nfence',
  'line\n# heading\n- item',
  'https://example.invalid/autolink www.example.invalid',
  'a`b``c',
  '`',
  '&lt;entity&gt; &amp;',
];

function assertInert(markdown: string): void {
  const html = md.render(markdown);
  for (const tag of ['<a ', '<img', '<script', '<h1', '<pre', '<em', '<s>', '<del']) {
    assert.ok(!html.includes(tag), `rendered tooltip has ${tag}: ${html}`);
  }
}

const hex = (c: string) => c.repeat(64);
function graphWith(evil: string): { g: NetworkGraph; net: NetworkModel; ctr: ContainerModel; ep: EndpointModel } {
  const net: NetworkModel = {
    id: hex('a'), name: evil, driver: evil, scope: 'local', internal: false, ipv6: false, builtin: false, tsnet: false,
    bridge: evil, subnets: [{ family: 4, subnet: '10.9.1.0/24', gateway: '10.9.1.1' }],
    options: { [evil]: evil, plain: evil }, labels: { [evil]: evil }, endpointIds: [hex('e')], firewall: [evil],
  };
  const ctr: ContainerModel = {
    id: hex('c'), name: evil, image: evil, state: 'running', status: 'running', networkMode: evil,
    namespaceId: hex('c'), endpointIds: [hex('e')], ports: [], labels: {},
  };
  const ep: EndpointModel = { id: hex('e'), networkId: net.id, containerId: ctr.id, ipv4: '10.9.1.2', aliases: [evil], hostVeth: evil, active: true };
  const g: NetworkGraph = { host: { tsnetStatus: true }, networks: [net], containers: [ctr], endpoints: [ep], namespaces: [{ id: ctr.id, ownerId: ctr.id, memberIds: [ctr.id], sandboxKey: evil }] };
  return { g, net, ctr, ep };
}

describe('Markdown escaping of tooltips', () => {
  for (const evil of EVIL) {
    it(`mdText shows ${JSON.stringify(evil)} as its own text`, () => {
      const html = md.renderInline(mdText(evil));
      assertInert(mdText(evil));
      assert.strictEqual(visibleText(html), evil.replace(/[\r\n]+/g, ' '));
    });
    it(`mdCode keeps ${JSON.stringify(evil)} verbatim in one code span`, () => {
      const html = md.renderInline(mdCode(evil));
      assert.match(html, /^<code>[^]*<\/code>$/);
      assert.strictEqual((html.match(/<code>/g) ?? []).length, 1, html);
      assert.strictEqual(visibleText(html), evil.replace(/[\r\n]+/g, ' '));
    });
  }

  it('network, container and namespace tooltips render hostile names, labels and options as text', () => {
    for (const evil of EVIL) {
      const { g, net, ctr, ep } = graphWith(evil);
      const tips = [networkTooltip(net, g), containerTooltip(ctr, g, ep), containerTooltip(ctr, g), namespaceTooltip(ctr.name, g.namespaces[0], g, sharedFacts(g.namespaces[0], g))];
      for (const tip of tips) {
        assertInert(tip);
        // Each value stays one list item: a line break in a label cannot start a heading or a new item.
        const html = md.render(tip);
        assert.ok(visibleText(html).includes(evil.replace(/[\r\n]+/g, ' ')), `the value is not shown verbatim in: ${html}`);
      }
    }
  });

  it('a label whose value is a command link shows as text, not as a link', () => {
    const { g, net } = graphWith('x');
    net.labels = { note: 'see [docs](command:tsnet.removeNetwork)' };
    const html = md.render(networkTooltip(net, g));
    assert.ok(!html.includes('<a '), html);
    assert.ok(html.includes('see [docs](command:tsnet.removeNetwork)'), html);
  });
});

describe('webview escaping', () => {
  it('escapeHtml escapes every character that ends text or a quoted attribute', () => {
    assert.strictEqual(escapeHtml(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  it('the rendered SVG keeps hostile names and ids inside their attributes and text', () => {
    // The webview's renderer, bundled as the webview bundle is (it lives outside src/).
    const out = esbuild.buildSync({
      entryPoints: [path.resolve(__dirname, '../../../media/topology/src/render.ts')],
      bundle: true, format: 'cjs', platform: 'node', write: false, logLevel: 'silent',
    });
    const mod = { exports: {} as { renderScene: (s: unknown, laid: unknown) => { svg: string } } };
    new Function('module', 'exports', 'require', out.outputFiles[0].text)(mod, mod.exports, require);
    const evil = `x" onmouseover="alert(1)' data-x='<script>`;
    const { g } = graphWith(evil);
    g.networks[0].id = evil;
    g.endpoints[0].networkId = evil;
    const scene = buildScene(g);
    const laid = { width: 100, height: 100, children: Object.keys(scene.nodes).map((id) => ({ id, x: 0, y: 0, width: 10, height: 10 })), edges: Object.keys(scene.edges).map((id) => ({ id, sources: [id], targets: [id], sections: [] })) };
    const svg = mod.exports.renderScene(scene, laid).svg;
    assert.ok(!svg.includes('onmouseover="'), svg.slice(0, 400));
    assert.ok(!svg.includes('<script'), svg.slice(0, 400));
    assert.ok(!svg.includes(`data-x='`), svg.slice(0, 400));
    assert.ok(svg.includes('x&quot; onmouseover=&quot;alert(1)&#39; data-x=&#39;&lt;script&gt;'), 'the hostile text is shown, escaped');
  });
});

describe('topology messages from the webview', () => {
  it('only own keys of ACTIONS are context actions', () => {
    assert.strictEqual(isActionCommand('tsnet.inspect'), true);
    assert.strictEqual(isActionCommand('tsnet.removeNetwork'), true);
    for (const inherited of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf', 'isPrototypeOf']) {
      assert.strictEqual(isActionCommand(inherited), false, inherited);
      // What the old check (`command in ACTIONS`) accepted:
      assert.strictEqual(inherited in { 'tsnet.inspect': 1 }, true);
    }
    for (const other of ['workbench.action.terminal.new', '', 42, undefined, null, {}]) assert.strictEqual(isActionCommand(other), false, String(other));
  });

  it('a reference must be a known kind with a string id', () => {
    assert.strictEqual(isItemRef({ kind: 'network', id: 'abc' }), true);
    for (const bad of [undefined, null, 'network', { kind: 'toString', id: 'x' }, { kind: 'network' }, { kind: 'network', id: 1 }, { kind: '__proto__', id: 'x' }]) {
      assert.strictEqual(isItemRef(bad), false, JSON.stringify(bad));
    }
  });
});
