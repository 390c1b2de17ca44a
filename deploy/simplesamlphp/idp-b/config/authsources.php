<?php
// Test users of IdP B (organisation "Globex" in the tests).
$config = [
    'admin' => ['core:AdminPassword'],
    'example-userpass' => [
        'exampleauth:UserPass',
        'gina@globex.test:ginapass' => [
            'uid' => ['gina'], 'mail' => ['gina@globex.test'], 'givenName' => ['Gina'], 'sn' => ['Gold'],
        ],
        // same address as Acme's person: IdP B must never sign her into Acme
        'alice@acme.test:mallorypass' => [
            'uid' => ['mallory'], 'mail' => ['alice@acme.test'], 'givenName' => ['Mallory'], 'sn' => ['Evil'],
        ],
    ],
];
