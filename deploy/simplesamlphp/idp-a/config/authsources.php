<?php
// Test users of IdP A (organisation "Acme" in the tests): "username:password" => attributes.
$config = [
    'admin' => ['core:AdminPassword'],
    'example-userpass' => [
        'exampleauth:UserPass',
        // a person of Acme, in the group the tests map to the read-only admin role
        'alice@acme.test:alicepass' => [
            'uid' => ['alice'], 'mail' => ['alice@acme.test'], 'givenName' => ['Alice'], 'sn' => ['Andersson'],
            'groups' => ['ch-readonly-admins', 'staff'],
        ],
        // a person of Acme without admin groups
        'bob@acme.test:bobpass' => [
            'uid' => ['bob'], 'mail' => ['bob@acme.test'], 'givenName' => ['Bob'], 'sn' => ['Berg'],
            'groups' => ['staff'],
        ],
        // known to the IdP only: no such person in Acme
        'ghost@acme.test:ghostpass' => [
            'uid' => ['ghost'], 'mail' => ['ghost@acme.test'], 'givenName' => ['Ghost'], 'sn' => ['User'],
        ],
    ],
];
