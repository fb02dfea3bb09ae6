/**
 * Faster, semantically identical replacements for the hot internals of xml-crypto 6.3.x and node-saml 5.1.x
 * signature verification, installed by `installXmlCryptoFastPath()` into this process only (the validation workers
 * and the 0-thread fallback: see response-validation.ts). node-saml stays the verifier of record: it still decides
 * which signature to check, xml-crypto still canonicalizes, digests and verifies, with its own errors. What changes
 * is how nodes are found: the upstream code evaluates XPath strings (parsed anew on every call, each predicate
 * evaluated with a fresh context) over the whole document, several times per Reference; here the same node-sets are
 * computed by one walk of the DOM in document order.
 *
 * Each replacement is written as the upstream method body would be, so that it can be offered upstream: a comment
 * names the function it replaces and the exact XPath semantics kept. The semantics are those of the `xpath` package
 * xml-crypto and node-saml actually use (0.0.33 / 0.0.34), not of the XPath 1.0 recommendation where they differ:
 * notably `@*` there also selects namespace declarations (`xmlns:ID="x"` is an attribute named ID), so the walk
 * counts them too, as the stock code does; and with xmldom 0.8 an unprefixed QName test (`@ID`, `@Algorithm`) is
 * case-insensitive (see xpathCaseInsensitive). Anything outside the shapes handled here goes to the stock function.
 *
 * Replaced: xml-crypto SignedXml.prototype.validateReference, .loadSignature, .findLoadedSignature, .canonicalize,
 * utils.findAncestorNs; node-saml xml.getVerifiedXml. `xml-crypto-fast-path.spec.ts` runs xml-crypto's and
 * node-saml's own signature fixtures (test/fixtures/upstream-xml-crypto) through both and requires the same outcomes.
 *
 * Loaded by the validation worker on its own: relative imports and packages only (no @app paths).
 */
import { dirname, join } from 'node:path';
import { deprecate } from 'node:util';

/** The DOM of @xmldom/xmldom 0.8 (xml-crypto's and node-saml's own copies), as far as it is read here. */
interface DomAttr {
  nodeType: number;
  localName?: string | null;
  nodeName?: string;
  namespaceURI?: string | null;
  value?: string;
  nodeValue?: string | null;
  baseName?: string;
  target?: string;
}
interface DomNode extends DomAttr {
  parentNode: DomNode | null;
  firstChild: DomNode | null;
  nextSibling: DomNode | null;
  ownerDocument?: DomNode | null;
  documentElement?: DomNode | null;
  attributes?: { length: number; item(i: number): DomAttr | null };
  data?: string;
  textContent?: string | null;
  toString(): string;
}

/** xml-crypto's Reference, as validateReference reads and writes it. */
interface Reference {
  uri?: string;
  xpath?: string;
  digestAlgorithm: string;
  digestValue: string;
  validationError?: Error;
  getValidatedNode?: (xpathSelector?: string) => DomNode | null;
}

/** The instance members of xml-crypto's SignedXml that the replaced methods use. */
interface SignedXmlInstance {
  idAttributes: string[];
  signatureNode: DomNode | null;
  signatureXml: string;
  signatureValue: string;
  canonicalizationAlgorithm?: string;
  signatureAlgorithm?: string;
  keyInfo: DomNode | null;
  references: Reference[];
  getCanonReferenceXml(doc: DomNode, ref: Reference, node: DomNode): string;
  getCanonXml(transforms: string[], node: DomNode, options?: object): string;
  findHashAlgorithm(name: string): { getHash(xml: string): string };
  loadReference(refNode: DomNode): void;
}

type XPathModule = { select(e: string, n: DomNode): unknown; select1(e: string, n: DomNode): unknown };
type UtilsModule = {
  findAncestorNs(doc: DomNode, docSubsetXpath?: string, namespaceResolver?: unknown): unknown[];
  findAncestorNsForElement(node: DomNode): unknown[];
  findChildren(node: DomNode, localName: string, namespace?: string): DomNode[];
  isArrayHasLength(a: unknown): boolean;
  validateDigestValue(digest: string, expected: string): boolean;
};

const ELEMENT_NODE = 1;
const ATTRIBUTE_NODE = 2;
const TEXT_NODE = 3;
const CDATA_SECTION_NODE = 4;
const COMMENT_NODE = 8;
const DOCUMENT_NODE = 9;
const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';

// ---------------------------------------------------------------------------------------------------------------
// XPath building blocks, as the `xpath` package evaluates them.

/** `local-name(.)` of the `xpath` package (Functions.localName). */
function xpathLocalName(n: DomAttr): string {
  return n.localName || n.baseName || n.target || n.nodeName || '';
}

/** The string-value of an attribute in the `xpath` package (XNodeSet.stringForNode). */
function xpathAttrValue(a: DomAttr): string | null | undefined {
  return a.value || a.nodeValue;
}

/**
 * Whether the `xpath` package evaluates name tests case-insensitively from `context` (XPathExpression.detectHtmlDom):
 * it asks the DOM whether it implements HTML 2.0, and xmldom 0.8 answers true to every feature, so with xmldom an
 * unprefixed QName test such as `@ID` or `@Algorithm` also matches `id` or `algorithm`.
 */
function xpathCaseInsensitive(context: DomNode | null | undefined): boolean {
  if (!context) return false;
  const doc = (context.nodeType === DOCUMENT_NODE ? context : context.ownerDocument) as (DomNode & { implementation?: { hasFeature(f: string, v: string): boolean } }) | null | undefined;
  try {
    return Boolean((doc as NonNullable<typeof doc>).implementation!.hasFeature('HTML', '2.0'));
  } catch {
    return true;
  }
}

/** The unprefixed QName test `<name>` of the `xpath` package on an attribute: that local name (case-insensitive as above), no namespace. */
function attrNameTestMatches(a: DomAttr, name: string, caseInsensitive: boolean): boolean {
  if (a.nodeType !== ATTRIBUTE_NODE || a.namespaceURI) return false;
  const local = (a.localName || a.nodeName) as string;
  return caseInsensitive ? name.toLowerCase() === local.toLowerCase() : name === local;
}

/** The root `/` and `//` start from (PathExpr.getRoot, without a virtual root, which `select` never sets). */
function xpathRoot(context: DomNode): DomNode {
  if (context.nodeType === DOCUMENT_NODE) return context;
  if (context.ownerDocument) return context.ownerDocument;
  let n = context;
  while (n.parentNode != null) n = n.parentNode;
  return n;
}

/**
 * Every node strictly below `context`, in document order (the descendant axis: firstChild / nextSibling, as the
 * `xpath` package walks it). `visit` returning true stops the walk.
 */
function walkBelow(context: DomNode, visit: (n: DomNode) => boolean | void): void {
  let n = context.firstChild;
  while (n != null) {
    if (visit(n) === true) return;
    if (n.firstChild != null) {
      n = n.firstChild;
      continue;
    }
    while (n != null && n.nextSibling == null) {
      n = n.parentNode;
      if (n === context) return;
    }
    if (n == null) return;
    n = n.nextSibling;
  }
}

function firstElementBelow(context: DomNode): DomNode | null {
  let found: DomNode | null = null;
  walkBelow(context, (n) => {
    if (n.nodeType === ELEMENT_NODE) {
      found = n;
      return true;
    }
  });
  return found;
}

/** The elements of `.//*[local-name(.)='<localName>']` from `context`, in document order; with `first`, at most one. */
function descendantsByLocalName(context: DomNode, localName: string, first = false): DomNode[] {
  const found: DomNode[] = [];
  walkBelow(context, (n) => {
    if (n.nodeType === ELEMENT_NODE && xpathLocalName(n) === localName) {
      found.push(n);
      return first;
    }
  });
  return found;
}

/** Whether `el` matches `@*[local-name(.)='<name>'] = '<value>'` (namespace declarations included, as `xpath` has them). */
function hasAttrByLocalName(el: DomNode, name: string, value: string): boolean {
  const attrs = el.attributes;
  if (!attrs) return false;
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs.item(i);
    if (a && a.nodeType === ATTRIBUTE_NODE && xpathLocalName(a) === name && xpathAttrValue(a) === value) return true;
  }
  return false;
}

/**
 * For each name of `names`, the elements `//*[@*[local-name(.)='<name>']='<value>']` selects (from the root of
 * `context`), in document order: one walk for all the names. A name given twice gets the same list twice, as the
 * upstream loop evaluates its XPath twice.
 */
function elementsByIdAttributes(context: DomNode, names: string[], value: string): Map<string, DomNode[]> {
  const byName = new Map<string, DomNode[]>();
  for (const name of names) byName.set(name, []);
  walkBelow(xpathRoot(context), (n) => {
    if (n.nodeType !== ELEMENT_NODE) return;
    for (const [name, list] of byName) if (hasAttrByLocalName(n, name, value)) list.push(n);
  });
  return byName;
}

/** `//*[@*[local-name(.)='<name>']='<value>']`, parsed; only literals without a quote (they cannot end the literal). */
const ID_XPATH = /^\/\/\*\[@\*\[local-name\(\.\)='([^']*)'\]='([^']*)'\]$/;
const SIGNED_INFO_XPATH = "//*[local-name()='SignedInfo']";

// ---------------------------------------------------------------------------------------------------------------
// The replacements. Each takes the stock module objects, so that they can be tested against the stock functions.

export interface XmlCryptoModules {
  /** xml-crypto's SignedXml class. */
  SignedXml: { prototype: SignedXmlInstance & Record<string, unknown> };
  /** xml-crypto's lib/utils module object (its functions are called through it). */
  utils: UtilsModule;
  /** The `xpath` package xml-crypto requires. */
  xpath: XPathModule;
  /** The `@xmldom/xmldom` package xml-crypto requires. */
  xmldom: { DOMParser: new () => { parseFromString(xml: string, mime?: string): DomNode } };
  /** The `@xmldom/is-dom-node` package. */
  isDomNode: { isNodeLike(v: unknown): v is DomNode; isElementNode(v: unknown): v is DomNode; isAttributeNode(v: unknown): v is DomAttr; isTextNode(v: unknown): v is DomNode };
}

/**
 * Replaces xml-crypto `SignedXml.prototype.validateReference` (lib/signed-xml.ts). Same body, except the lookup of
 * the referenced element: instead of evaluating `//*[@*[local-name(.)='${attr}']='${uri}']` once per idAttribute
 * over the whole document, one walk in document order collects, per id attribute name, the elements carrying an
 * attribute of that local name (in any namespace, namespace declarations included, as the `xpath` package has it)
 * whose value is exactly `uri`. The results are then consumed in the upstream loop's order, so the refusal of a
 * second element carrying the ID (the signature-wrapping defence, counted across Id / ID / id and any custom
 * idAttribute), the `ref.xpath` left set (also when that refusal throws), the element chosen, the refusal of a uri
 * with a quote (also of an absent uri, as upstream), and the not-found outcome are those of upstream. An
 * idAttribute containing a quote (which would change the upstream XPath) is handed to the stock method.
 */
export function makeValidateReference(m: XmlCryptoModules, stock: (ref: Reference, doc: DomNode) => string | undefined) {
  return function validateReference(this: SignedXmlInstance, ref: Reference, doc: DomNode): string | undefined {
    if (this.idAttributes.some((a) => typeof a !== 'string' || a.includes("'")) || !m.isDomNode.isNodeLike(doc)) return stock.call(this, ref, doc);
    const uri = ref.uri?.[0] === '#' ? ref.uri.substring(1) : ref.uri;
    let elem: DomNode | null = null;
    if (uri === '') {
      // `//*` selected first: the first element below the root.
      elem = firstElementBelow(xpathRoot(doc));
    } else if (uri?.indexOf("'") !== -1) {
      // xpath injection
      throw new Error('Cannot validate a uri with quotes inside it');
    } else {
      const byName = elementsByIdAttributes(doc, this.idAttributes, uri);
      let num_elements_for_id = 0;
      for (const attr of this.idAttributes) {
        const tmp_elem = byName.get(attr) as DomNode[];
        if (tmp_elem.length > 0) {
          num_elements_for_id += tmp_elem.length;
          if (num_elements_for_id > 1) {
            throw new Error(
              'Cannot validate a document which contains multiple elements with the ' +
                'same value for the ID / Id / Id attributes, in order to prevent ' +
                'signature wrapping attack.',
            );
          }
          elem = tmp_elem[0];
          ref.xpath = `//*[@*[local-name(.)='${attr}']='${uri}']`;
        }
      }
    }

    ref.getValidatedNode = deprecate((xpathSelector?: string) => {
      xpathSelector = xpathSelector || ref.xpath;
      if (typeof xpathSelector !== 'string' || ref.validationError != null) {
        return null;
      }
      const selectedValue = m.xpath.select1(xpathSelector, doc);
      return m.isDomNode.isNodeLike(selectedValue) ? selectedValue : null;
    }, '`ref.getValidatedNode()` is deprecated and insecure. Use `ref.signedReference` or `this.getSignedReferences()` instead.');

    if (!m.isDomNode.isNodeLike(elem)) {
      const validationError = new Error(`invalid signature: the signature references an element with uri ${ref.uri} but could not find such element in the xml`);
      ref.validationError = validationError;
      return undefined;
    }

    const canonXml = this.getCanonReferenceXml(doc, ref, elem);
    const hash = this.findHashAlgorithm(ref.digestAlgorithm);
    const digest = hash.getHash(canonXml);

    if (!m.utils.validateDigestValue(digest, ref.digestValue)) {
      const validationError = new Error(`invalid signature: for uri ${ref.uri} calculated digest is ${digest} but the xml to validate supplies digest ${ref.digestValue}`);
      ref.validationError = validationError;
      return undefined;
    }

    return canonXml;
  };
}

/**
 * Replaces xml-crypto `utils.findAncestorNs` (lib/utils.ts) for the two document subsets xml-crypto itself asks
 * for: `//*[local-name()='SignedInfo']` (getCanonSignedInfoXml: the first SignedInfo of the document, in any
 * namespace) and the `//*[@*[local-name(.)='<attr>']='<uri>']` validateReference leaves in `ref.xpath`. The first
 * element of that node-set, in document order, found by a walk, gets the upstream `findAncestorNsForElement`;
 * none gives `[]`, as upstream. Any other XPath (or a missing document) goes to the stock function.
 */
export function makeFindAncestorNs(m: XmlCryptoModules, stock: UtilsModule['findAncestorNs']): UtilsModule['findAncestorNs'] {
  return function findAncestorNs(doc, docSubsetXpath, namespaceResolver) {
    if (docSubsetXpath == null) return [];
    if (!m.isDomNode.isNodeLike(doc)) return stock(doc, docSubsetXpath, namespaceResolver);
    let first: DomNode | undefined;
    if (docSubsetXpath === SIGNED_INFO_XPATH) {
      first = descendantsByLocalName(xpathRoot(doc), 'SignedInfo', true)[0];
    } else {
      const id = ID_XPATH.exec(docSubsetXpath);
      if (!id) return stock(doc, docSubsetXpath, namespaceResolver);
      first = (elementsByIdAttributes(doc, [id[1]], id[2]).get(id[1]) as DomNode[])[0];
    }
    return first ? m.utils.findAncestorNsForElement(first) : [];
  };
}

/** `.//*[local-name(.)='<el>']/@<attr>` from `context`, first in document order: the attribute with that local name and no namespace. */
function firstAttrOfDescendant(context: DomNode, el: string, attr: string): DomAttr | undefined {
  let found: DomAttr | undefined;
  const caseInsensitive = xpathCaseInsensitive(context);
  walkBelow(context, (n) => {
    if (n.nodeType !== ELEMENT_NODE || xpathLocalName(n) !== el || !n.attributes) return;
    for (let i = 0; i < n.attributes.length; i++) {
      const a = n.attributes.item(i);
      if (a && attrNameTestMatches(a, attr, caseInsensitive)) {
        found = a;
        return true;
      }
    }
  });
  return found;
}

/** `.//*[local-name(.)='<el>']/text()` from `context`, first in document order: a text or CDATA child of such an element. */
function firstTextOfDescendant(context: DomNode, el: string): DomNode | undefined {
  let found: DomNode | undefined;
  walkBelow(context, (n) => {
    if ((n.nodeType === TEXT_NODE || n.nodeType === CDATA_SECTION_NODE) && n.parentNode !== context && n.parentNode?.nodeType === ELEMENT_NODE && xpathLocalName(n.parentNode) === el) {
      found = n;
      return true;
    }
  });
  return found;
}

/**
 * Replaces xml-crypto `SignedXml.prototype.loadSignature` (lib/signed-xml.ts). Same body; its four XPath lookups
 * below the Signature are walks with the same node-sets: `.//*[local-name(.)='CanonicalizationMethod']/@Algorithm`
 * and `…SignatureMethod']/@Algorithm` (first such attribute in document order: an `Algorithm` in no namespace,
 * the QName test `Algorithm` being case-insensitive with xmldom 0.8 as in `xpath`),
 * `.//*[local-name(.)='SignatureValue']/text()` (first text or CDATA child of such an element in document order;
 * a CDATA node fails the upstream `isTextNode` test as before) and `.//*[local-name(.)='KeyInfo']`.
 */
export function makeLoadSignature(m: XmlCryptoModules) {
  return function loadSignature(this: SignedXmlInstance, signatureNode: DomNode | string): void {
    if (typeof signatureNode === 'string') {
      this.signatureNode = signatureNode = new m.xmldom.DOMParser().parseFromString(signatureNode);
    } else {
      this.signatureNode = signatureNode;
    }

    this.signatureXml = signatureNode.toString();

    const node = firstAttrOfDescendant(signatureNode, 'CanonicalizationMethod', 'Algorithm');
    if (!m.isDomNode.isNodeLike(node)) {
      throw new Error('could not find CanonicalizationMethod/@Algorithm element');
    }

    if (m.isDomNode.isAttributeNode(node)) {
      this.canonicalizationAlgorithm = node.value;
    }

    const signatureAlgorithm = firstAttrOfDescendant(signatureNode, 'SignatureMethod', 'Algorithm');

    if (m.isDomNode.isAttributeNode(signatureAlgorithm)) {
      this.signatureAlgorithm = signatureAlgorithm.value;
    }

    const signedInfoNodes = m.utils.findChildren(this.signatureNode, 'SignedInfo');
    if (!m.utils.isArrayHasLength(signedInfoNodes)) {
      throw new Error('no signed info node found');
    }
    if (signedInfoNodes.length > 1) {
      throw new Error('could not load signature that contains multiple SignedInfo nodes');
    }

    // Try to operate on the c14n version of `signedInfo`. This forces the initial `getReferences()`
    // API call to always return references that are loaded under the canonical `SignedInfo`
    // in the case that the client access the `.references` **before** signature verification.

    // Ensure canonicalization algorithm is exclusive, otherwise we'd need the entire document
    let canonicalizationAlgorithmForSignedInfo = this.canonicalizationAlgorithm;
    if (
      !canonicalizationAlgorithmForSignedInfo ||
      canonicalizationAlgorithmForSignedInfo === 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315' ||
      canonicalizationAlgorithmForSignedInfo === 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments'
    ) {
      canonicalizationAlgorithmForSignedInfo = 'http://www.w3.org/2001/10/xml-exc-c14n#';
    }

    const temporaryCanonSignedInfo = this.getCanonXml([canonicalizationAlgorithmForSignedInfo], signedInfoNodes[0]);
    const temporaryCanonSignedInfoXml = new m.xmldom.DOMParser().parseFromString(temporaryCanonSignedInfo, 'text/xml');

    const signedInfoDoc = temporaryCanonSignedInfoXml.documentElement as DomNode;

    this.references = [];
    const references = m.utils.findChildren(signedInfoDoc, 'Reference');
    if (!m.utils.isArrayHasLength(references)) {
      throw new Error('could not find any Reference elements');
    }

    for (const reference of references) {
      this.loadReference(reference);
    }

    const signatureValue = firstTextOfDescendant(signatureNode, 'SignatureValue');
    if (m.isDomNode.isTextNode(signatureValue)) {
      this.signatureValue = (signatureValue.data as string).replace(/\r?\n/g, '');
    }

    const keyInfo = descendantsByLocalName(signatureNode, 'KeyInfo', true)[0];
    if (m.isDomNode.isNodeLike(keyInfo)) {
      this.keyInfo = keyInfo;
    }
  };
}

/** `.//*[local-name(.)='Signature' and namespace-uri(.)='…xmldsig#']` from `context` (xml-crypto's findSignatureElements). */
function signatureElementsBelow(context: DomNode): DomNode[] {
  const found: DomNode[] = [];
  walkBelow(context, (n) => {
    if (n.nodeType === ELEMENT_NODE && xpathLocalName(n) === 'Signature' && n.namespaceURI === DSIG_NS) found.push(n);
  });
  return found;
}

/**
 * Replaces xml-crypto `SignedXml.prototype.findLoadedSignature` (lib/signed-xml.ts). Same body; its
 * `findSignatureElements(doc)` (`.//*[local-name(.)='Signature' and namespace-uri(.)='…xmldsig#']`) is a walk with
 * the same elements in document order, so the refusal of two Signatures carrying the loaded SignatureValue holds.
 */
export function makeFindLoadedSignature(m: XmlCryptoModules) {
  return function findLoadedSignature(this: SignedXmlInstance, node: DomNode): DomNode | null {
    const doc = node.ownerDocument ?? node;
    if (this.signatureNode == null || this.signatureNode.ownerDocument === doc) {
      return this.signatureNode;
    }
    const signatureValue = m.utils.findChildren(this.signatureNode, 'SignatureValue')[0]?.textContent;
    if (!signatureValue) {
      return null;
    }
    const matches = signatureElementsBelow(doc).filter((signature) => m.utils.findChildren(signature, 'SignatureValue')[0]?.textContent === signatureValue);
    if (matches.length > 1) {
      throw new Error('Cannot validate a document which contains multiple Signature elements with the same SignatureValue, in order to prevent signature wrapping attack.');
    }
    return matches[0] ?? null;
  };
}

/**
 * Replaces xml-crypto `SignedXml.prototype.canonicalize` (lib/signed-xml.ts). Same body; the comments a
 * same-document reference drops (`.//comment()` below the deep clone) are found by a walk of the clone, then
 * removed, as upstream collects them all before removing any.
 */
export function makeCanonicalize(m: XmlCryptoModules) {
  const SignedXml = m.SignedXml as unknown as { defaultNsForPrefix: Record<string, string> };
  type Options = Record<string, unknown> & { defaultNsForPrefix?: Record<string, string>; signatureNode?: DomNode | null };
  type Self = SignedXmlInstance & {
    findLoadedSignature(node: DomNode): DomNode | null;
    parseTransformInput(octets: string, transformName: string): DomNode;
    findCanonicalizationAlgorithm(name: string): { process(node: DomNode | string, options: Options): DomNode | string };
  };
  return function canonicalize(this: Self, transforms: string[], node: DomNode & { cloneNode(deep: boolean): DomNode; childNodes?: ArrayLike<DomNode> }, options: Options, { discardComments }: { discardComments: boolean }): string {
    options.defaultNsForPrefix = options.defaultNsForPrefix ?? SignedXml.defaultNsForPrefix;
    options.signatureNode = this.signatureNode;

    const canonXml = node.cloneNode(true); // Deep clone

    if (transforms.includes('http://www.w3.org/2000/09/xmldsig#enveloped-signature')) {
      const signaturePath: number[] = [];
      let signatureAncestor = this.findLoadedSignature(node);
      while (signatureAncestor?.parentNode && signatureAncestor !== node) {
        signaturePath.push(Array.from((signatureAncestor.parentNode as unknown as { childNodes: ArrayLike<DomNode> }).childNodes).indexOf(signatureAncestor));
        signatureAncestor = signatureAncestor.parentNode;
      }
      if (signatureAncestor === node) {
        options.signatureNode = signaturePath.reverse().reduce((clonedNode, index) => (clonedNode as unknown as { childNodes: ArrayLike<DomNode> }).childNodes[index], canonXml);
      }
    }

    if (discardComments) {
      const comments: DomNode[] = [];
      walkBelow(canonXml, (n) => {
        if (n.nodeType === COMMENT_NODE) comments.push(n);
      });
      comments.forEach((comment) => (comment.parentNode as unknown as { removeChild(n: DomNode): void } | null)?.removeChild(comment));
    }

    let transformedXml: DomNode | string = canonXml;
    let transformOptions = options;
    // Octets are parsed into a node-set for the next transform, and a node-set left at the end is
    // converted to octets with C14N: https://www.w3.org/TR/xmldsig-core1/#sec-ReferenceProcessingModel
    for (const transformName of transforms) {
      if (!m.isDomNode.isNodeLike(transformedXml)) {
        transformedXml = this.parseTransformInput(transformedXml, transformName);
        // The parsed octets are a new document, so the referenced node's ancestors are gone.
        transformOptions = {
          ...options,
          ancestorNamespaces: [],
          defaultNs: '',
          signatureNode: this.findLoadedSignature(transformedXml) ?? options.signatureNode,
        };
      }
      transformedXml = this.findCanonicalizationAlgorithm(transformName).process(transformedXml, transformOptions);
    }
    if (m.isDomNode.isNodeLike(transformedXml)) {
      transformedXml = this.findCanonicalizationAlgorithm('http://www.w3.org/TR/2001/REC-xml-c14n-20010315').process(transformedXml, transformOptions);
    }
    return transformedXml.toString();
  };
}

/** node-saml's lib/xml module, as far as getVerifiedXml uses it. */
export interface NodeSamlXmlModule {
  getVerifiedXml(fullXml: string, currentNode: DomNode, pemFiles: string[]): string | null;
}

/**
 * Replaces node-saml `getVerifiedXml` (src/xml.ts). Same body and order of checks; its three XPath lookups are
 * walks with the same node-sets (`xpath` 0.0.34): the Signature children of the node
 * (`./*[local-name(.)='Signature' and namespace-uri(.)='…xmldsig#']`), the dsig Transforms below the Signature
 * (`.//*[local-name(.)='Transform' and namespace-uri(.)='…xmldsig#']`) and the elements of the document carrying the
 * reference's ID (`//*[@ID="<id>"]`: an attribute in no namespace named `ID`, which with xmldom 0.8 the `xpath`
 * package matches case-insensitively, so `id` and `Id` count too; value exactly the id).
 */
export function makeGetVerifiedXml(SignedXml: new () => SignedXmlInstance & { publicCert?: string; getReferences(): Reference[]; checkSignature(xml: string): boolean; getSignedReferences(): string[]; loadSignature(n: DomNode): void }, assertRequired: (v: unknown, e?: string) => void): NodeSamlXmlModule['getVerifiedXml'] {
  const normalizeNewlines = (xml: string) => xml.replace(/\r\n?/g, '\n');
  return function getVerifiedXml(fullXml, currentNode, pemFiles) {
    fullXml = normalizeNewlines(fullXml);
    // find any signature
    const signatures: DomNode[] = [];
    for (let c = currentNode.firstChild; c != null; c = c.nextSibling) {
      if (c.nodeType === ELEMENT_NODE && xpathLocalName(c) === 'Signature' && c.namespaceURI === DSIG_NS) signatures.push(c);
    }
    if (signatures.length < 1) {
      return null;
    }
    if (signatures.length > 1) {
      throw new Error('Too many signatures found for this element');
    }
    const signature = signatures[0];

    let transforms = 0;
    walkBelow(signature, (n) => {
      if (n.nodeType === ELEMENT_NODE && xpathLocalName(n) === 'Transform' && n.namespaceURI === DSIG_NS) transforms++;
    });
    // Reject also XMLDSIG with more than 2 Transform
    if (transforms > 2) {
      // do not return false, throw an error so that it can be caught by tests differently
      throw new Error('Invalid signature, too many transforms');
    }

    for (const pemFile of pemFiles) {
      const sig = new SignedXml();
      sig.publicCert = pemFile; // public certificate to verify
      sig.loadSignature(signature);
      // here are the sanity checks
      // They do not affect the actual security of the program
      // more so to check conformance with the SAML spec
      const refs = sig.getReferences();
      if (refs.length !== 1) return null;
      if (!signature.parentNode) {
        return null;
      }
      const ref = refs[0];
      // only allow enveloped signature
      const refUri = ref.uri as string;
      const refId = refUri[0] === '#' ? refUri.substring(1) : refUri;
      assertRequired(refId, 'signature reference uri not found');
      // prevent XPath injection
      if (refId.includes("'") || refId.includes('"')) {
        throw new Error("ref URI included quote character ' or \". Not a valid ID, and not allowed");
      }
      const totalReferencedNodes: DomNode[] = [];
      const caseInsensitive = xpathCaseInsensitive(signature.ownerDocument);
      walkBelow(xpathRoot(signature.ownerDocument as DomNode), (n) => {
        if (n.nodeType !== ELEMENT_NODE || !n.attributes) return;
        for (let i = 0; i < n.attributes.length; i++) {
          const a = n.attributes.item(i);
          if (a && attrNameTestMatches(a, 'ID', caseInsensitive) && xpathAttrValue(a) === refId) {
            totalReferencedNodes.push(n);
            return;
          }
        }
      });
      if (totalReferencedNodes.length !== 1) {
        throw new Error('Invalid signature: ID cannot refer to more than one element');
      }
      if (totalReferencedNodes[0] !== signature.parentNode) {
        throw new Error("Invalid signature: Referenced node does not refer to it's parent element");
      }
      // actual cryptographic verification
      // after verification, the referenced XML will be in `sig.signedReferences`
      // do not trust any other xml (including referencedNode)
      try {
        if (!sig.checkSignature(fullXml)) {
          continue; // no signatures verified
        }
        if (sig.getSignedReferences().length !== 1) {
          throw new Error('Only 1 signed references should be present in signature');
        }
        return sig.getSignedReferences()[0];
      } catch {
        // return null; // we don't return null, since we have to verify with another key
      }
    }
    return null;
  };
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * The stock modules, resolved as node-saml resolves them (xml-crypto's own nested dependencies included), through
 * this module's `require` so that a test runner's module registry gets the same instances as the code it runs.
 */
export function stockModules(): { xmlCrypto: XmlCryptoModules; nodeSamlXml: NodeSamlXmlModule & Record<string, unknown>; nodeSamlUtility: { assertRequired(v: unknown, e?: string): void } } {
  const nodeSamlLib = dirname(require.resolve('@node-saml/node-saml'));
  const xmlCryptoLib = dirname(require.resolve('xml-crypto', { paths: [nodeSamlLib] }));
  const fromXmlCrypto = (id: string) => require(require.resolve(id, { paths: [xmlCryptoLib] }));
  return {
    xmlCrypto: {
      SignedXml: require(join(xmlCryptoLib, 'signed-xml')).SignedXml,
      utils: require(join(xmlCryptoLib, 'utils')),
      xpath: fromXmlCrypto('xpath'),
      xmldom: fromXmlCrypto('@xmldom/xmldom'),
      isDomNode: fromXmlCrypto('@xmldom/is-dom-node'),
    },
    nodeSamlXml: require(join(nodeSamlLib, 'xml')),
    nodeSamlUtility: require(join(nodeSamlLib, 'utility')),
  };
}

interface Installed {
  restore(): void;
}
let installed: Installed | undefined;

/**
 * Installs the replacements into this process's xml-crypto and node-saml (once; later calls do nothing). Call it
 * only where our own verification runs: another SP in the same process would get them too.
 */
export function installXmlCryptoFastPath(): void {
  if (installed) return;
  const { xmlCrypto, nodeSamlXml, nodeSamlUtility } = stockModules();
  const proto = xmlCrypto.SignedXml.prototype as unknown as Record<string, unknown>;
  const stock = { validateReference: proto.validateReference, loadSignature: proto.loadSignature, findLoadedSignature: proto.findLoadedSignature, canonicalize: proto.canonicalize, findAncestorNs: xmlCrypto.utils.findAncestorNs, getVerifiedXml: nodeSamlXml.getVerifiedXml };
  proto.validateReference = makeValidateReference(xmlCrypto, stock.validateReference as (ref: Reference, doc: DomNode) => string | undefined);
  proto.loadSignature = makeLoadSignature(xmlCrypto);
  proto.findLoadedSignature = makeFindLoadedSignature(xmlCrypto);
  proto.canonicalize = makeCanonicalize(xmlCrypto);
  // xml-crypto calls these through its utils module object (`utils.findAncestorNs(…)`), so replacing the export serves it.
  xmlCrypto.utils.findAncestorNs = makeFindAncestorNs(xmlCrypto, stock.findAncestorNs);
  // node-saml calls its exported getVerifiedXml through the module object (`(0, xml_1.getVerifiedXml)(…)`).
  nodeSamlXml.getVerifiedXml = makeGetVerifiedXml(xmlCrypto.SignedXml as never, nodeSamlUtility.assertRequired);
  installed = {
    restore: () => {
      Object.assign(proto, { validateReference: stock.validateReference, loadSignature: stock.loadSignature, findLoadedSignature: stock.findLoadedSignature, canonicalize: stock.canonicalize });
      xmlCrypto.utils.findAncestorNs = stock.findAncestorNs;
      nodeSamlXml.getVerifiedXml = stock.getVerifiedXml;
    },
  };
}

/** Puts the stock functions back (for the equivalence tests and the benchmark, which compare the two in one process). */
export function uninstallXmlCryptoFastPath(): void {
  installed?.restore();
  installed = undefined;
}
