<?php
// IdP B: transient NameID (random per session); the person is identified by the mail attribute.
// Signs only the Assertion, as many IdPs do.
$port = getenv('SSP_PORT') ?: 8282;
$metadata["http://127.0.0.1:$port/saml2/idp/metadata.php"] = [
    'host' => '__DEFAULT__',
    'privatekey' => 'idp.key',
    'certificate' => 'idp.crt',
    'auth' => 'example-userpass',
    'signature.algorithm' => 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    'saml20.sign.assertion' => true,
    'saml20.sign.response' => false,
    'NameIDFormat' => 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
    'attributes.NameFormat' => 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
];
