// The one door to @peculiar/x509 for the CA: it needs reflect-metadata loaded before it, and signs
// with WebCrypto keys (Node's global `crypto`, which it picks up by default).
import "reflect-metadata";

export * as x509 from "@peculiar/x509";
